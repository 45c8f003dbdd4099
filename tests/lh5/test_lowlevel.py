"""Datasets and attributes made with the low-level API are the ones h5py makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import numpy as np
import pytest

from tierflow.lh5._lowlevel import create_dataset, open_object, write_attrs
from tierflow.lh5._settings import dataset_kwargs

SETTINGS = [
    {"compression": None},
    {"compression": "gzip", "compression_opts": 4, "shuffle": True},
    {"compression": "gzip"},
    {"compression": "zstd", "compression_opts": 3, "shuffle": True},
]
CASES = [
    (settings, dtype, shape)
    for settings in SETTINGS
    for dtype, shape in [("f8", (100,)), ("<u2", (40, 3)), (">i4", (5,))]
] + [({"compression": "zstd", "chunks": (7, 3)}, "f4", (40, 3))]


def _describe(group: h5py.Group, name: str) -> dict[str, Any]:
    ds = group[name]
    plist = ds.id.get_create_plist()
    link = group.id.links.get_info(name.encode())
    return {
        "dtype": ds.dtype,
        "shape": ds.shape,
        "maxshape": ds.maxshape,
        "chunks": ds.chunks,
        "filters": [plist.get_filter(i) for i in range(plist.get_nfilters())],
        "times": plist.get_obj_track_times(),
        "cset": link.cset,
        "attrs": {k: (ds.attrs[k], ds.attrs.get_id(k).get_type().get_class()) for k in ds.attrs},
    }


@pytest.mark.parametrize(("settings", "dtype", "shape"), CASES)
@pytest.mark.parametrize("name", ["trapEmax", "énergie"])
def test_like_h5py(
    tmp_path: Path, settings: dict[str, Any], dtype: str, shape: tuple[int, ...], name: str
) -> None:
    data = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    kwargs = dataset_kwargs(data.shape, data.dtype, settings)
    attrs = {"datatype": "array<1>{real}", "units": "keV", "n": 3}
    with h5py.File(tmp_path / "f.h5", "w") as f:
        a, b = f.create_group("a"), f.create_group("b")
        ours = create_dataset(a, name, data, kwargs)
        assert ours is not None
        ours[...] = data
        write_attrs(ours, attrs)
        theirs = b.create_dataset(name, data=data, **kwargs)
        theirs.attrs.update(attrs)
        assert _describe(a, name) == _describe(b, name)
        np.testing.assert_array_equal(ours[()], theirs[()])


def test_what_it_does_not_build_goes_to_h5py(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as f:
        data = np.arange(10.0)
        assert create_dataset(f, "lzf", data, {"chunks": (10,), "compression": "lzf"}) is None
        assert create_dataset(f, "fl", data, {"chunks": (10,), "fletcher32": True}) is None
        assert create_dataset(f, "s", np.array(["a"]), {"chunks": (1,)}) is None
        assert create_dataset(f, "c", data, {"chunks": None}) is None
        assert create_dataset(f, "u", data, {"chunks": (10,), "compression": 999}) is None
        assert create_dataset(f, "g/x", data, {"chunks": (10,)}) is None
        assert list(f) == []


def test_attributes_replace_and_keep_other_types(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as f:
        ds = f.create_dataset("x", data=[1, 2])
        write_attrs(ds, {"units": "ns", "bits": np.arange(3), "ünits": "mm"})
        write_attrs(ds, {"units": "keV"})
        assert ds.attrs["units"] == "keV"
        assert list(ds.attrs["bits"]) == [0, 1, 2]
        assert ds.attrs["ünits"] == "mm"


def test_zstd_filter_is_registered() -> None:
    assert h5py.h5z.filter_avail(hdf5plugin.Zstd.filter_id)


def test_read_attrs_gives_what_h5py_gives(tmp_path: Path) -> None:
    from tierflow.lh5._lowlevel import read_attrs

    with h5py.File(tmp_path / "f.h5", "w") as f:
        ds = f.create_dataset("x", data=[1, 2])
        ds.attrs.update({"units": "ns", "é": "ü", "n": 3, "v": np.arange(2), "b": np.bytes_("ab")})
        ds.attrs.create("bad", np.array(b"\xff\xfe", dtype=h5py.string_dtype()))
        ours = read_attrs(ds)
        theirs = dict(ds.attrs.items())
        assert list(ours) == list(theirs)
        for key, value in theirs.items():
            assert type(ours[key]) is type(value)
            np.testing.assert_array_equal(ours[key], value)


def test_open_object_like_getitem(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("g/x", data=[1, 2])
        f["link"] = h5py.SoftLink("/g/x")
        f["t"] = np.dtype("f8")  # a named type
        assert isinstance(open_object(f, "g"), h5py.Group)
        assert open_object(f, "g/x")[1] == 2
        assert open_object(f["g"], "x").name == "/g/x"
        assert open_object(f, "link")[0] == 1
        assert isinstance(open_object(f, "t"), h5py.Datatype)
        with pytest.raises(KeyError):
            open_object(f, "nothere")


def test_append_rows_converts_like_h5py(tmp_path: Path) -> None:
    from tierflow.lh5._lowlevel import append_rows, read_attr

    with h5py.File(tmp_path / "f.h5", "w") as f:
        ds = f.create_dataset("x", data=np.zeros((2, 3)), maxshape=(None, 3), chunks=(4, 3))
        ds.resize(5, axis=0)
        append_rows(ds, np.arange(9, dtype="f4").reshape(3, 3), 2)
        np.testing.assert_array_equal(ds[2:], np.arange(9).reshape(3, 3))
        names = f.create_dataset("s", data=["a"], dtype=h5py.string_dtype(), maxshape=(None,))
        names.resize(3, axis=0)
        append_rows(names, np.array(["bé", "c"], dtype=h5py.string_dtype()), 1)
        assert list(names.asstr()[()]) == ["a", "bé", "c"]
        ds.attrs["datatype"] = "array<1>{real}"
        assert read_attr(ds, "datatype") == "array<1>{real}"
        assert read_attr(ds, "units") is None


@pytest.mark.parametrize(
    "value",
    [np.float64(2.5), np.int32(-3), np.uint8(7), np.array("énergie", dtype=h5py.string_dtype())],
)
def test_scalars_like_h5py(tmp_path: Path, value: Any) -> None:
    from tierflow.lh5._lowlevel import create_scalar

    data = np.asarray(value)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        ours = create_scalar(f, "ours", data)
        assert ours is not None
        theirs = f.create_dataset("theirs", data=data)
        assert ours.dtype == theirs.dtype
        assert ours.shape == theirs.shape == ()
        assert ours[()] == theirs[()]
        assert (
            ours.id.get_create_plist().get_obj_track_times()
            == theirs.id.get_create_plist().get_obj_track_times()
        )
        assert ours.id.get_type().get_class() == theirs.id.get_type().get_class()
        assert create_scalar(f, "fixed", np.array(b"ab")) is None


def test_review_cases_enum_names_and_narrowing(tmp_path: Path) -> None:
    from tierflow.lh5._lowlevel import append_rows, create_scalar, read_attrs

    with h5py.File(tmp_path / "f.h5", "w") as f:
        enum = np.array([0, 1], dtype=h5py.enum_dtype({"a": 0, "b": 1}, basetype="i1"))
        assert create_dataset(f, "e", enum, {"chunks": (2,)}) is None  # h5py makes enums
        assert create_scalar(f, "es", enum[:1].reshape(())) is None
        plain = create_dataset(f, "p", np.array([0, 1], "i1"), {"chunks": (2,)})
        assert plain is not None
        assert plain.id.get_type().get_class() == h5py.h5t.INTEGER
        ds = f.create_dataset("x", data=[1, 2])
        ds.attrs.create(b"caf\xe9", 5)
        assert list(read_attrs(ds).values()) == [5]
        narrow = f.create_dataset("n", data=np.zeros(2, "i1"), maxshape=(None,), chunks=(4,))
        narrow.resize(4, axis=0)
        append_rows(narrow, np.array([300, -1]), 2)
        assert list(narrow[()]) == [0, 0, 44, -1]  # numpy's casting, as h5py's ds[...] = ...
