"""The anchor's raw files, re-written by tierflow, read back equal and keep the LH5 layout."""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401
import pytest

from tierflow import lh5

pytestmark = pytest.mark.shared


def _layout(file: Path) -> dict[str, tuple[str | None, str, tuple[int, ...] | None]]:
    """Every object: its datatype, kind and, for datasets, dtype and the shape past the rows."""
    out: dict[str, tuple[str | None, str, tuple[int, ...] | None]] = {}

    def visit(name: str, obj: h5py.Group | h5py.Dataset) -> None:
        datatype = obj.attrs.get("datatype")
        if isinstance(obj, h5py.Dataset):
            out[name] = (datatype, str(obj.dtype), obj.shape[1:])
        else:
            out[name] = (datatype, "group", None)

    with h5py.File(file) as handle:
        handle.visititems(visit)
    return out


@pytest.mark.parametrize(
    "name",
    [
        "fcio-spms-2021-default",
        "fcio-p06-cal-uleb128",
        "orca-fc-geds-2022-default",
        "llama-pulser-default",
        "compass-default",
    ],
)
def test_rewritten_raw_file_equals_the_anchors(reference: Path, tmp_path: Path, name: str) -> None:
    source = reference / "legend" / "raw" / f"{name}.lh5"
    target = tmp_path / f"{name}.lh5"
    for top in lh5.ls(source):
        obj = lh5.read(top, source, decompress=False)
        lh5.write(obj, top, target, mode=lh5.WriteMode.APPEND)
        assert lh5.read(top, target, decompress=False) == obj
        assert lh5.read(top, target) == lh5.read(top, source)
    assert _layout(target) == _layout(source)
