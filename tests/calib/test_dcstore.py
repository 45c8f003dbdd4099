"""Parity with psana's DCStore on its own sample files (``shared/testdata/calib``).

Each ``<det>.expected.json`` lists the tree DCStore reports and, per lookup, what DCStore answered
and what a sound store answers (half-open validity, latest begin wins, empty ranges skipped,
defaults and versions as requested). We must match ``correct`` everywhere, including the cases
where DCStore itself is wrong.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tierflow import calib
from tierflow.errors import ConfigError, NotFoundError

SAMPLES = ["cspad-987654", "epix100a-3925868555"]


@pytest.fixture(scope="module")
def imported(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> calib.Store:
    store = calib.Store(tmp_path_factory.mktemp("dc") / "store", create=True, author="importer")
    for name in SAMPLES:
        calib.import_dcstore(store, testdata / "calib" / f"{name}.h5")
    return calib.Store(store.path)  # re-read from disk: nothing lives only in memory


def _expected(testdata: Path, name: str) -> dict[str, Any]:
    return json.loads((testdata / "calib" / f"{name}.expected.json").read_text())


def _summary(value: np.ndarray) -> dict[str, Any]:
    return {
        "shape": list(value.shape),
        "dtype": value.dtype.str,
        "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest(),
        "first_values": value.reshape(-1)[:4].tolist(),
    }


_LOOKUP_COUNTS = {"cspad-987654": 22, "epix100a-3925868555": 14}  # checked against the files


@pytest.mark.parametrize(
    ("name", "case"), [(n, i) for n in SAMPLES for i in range(_LOOKUP_COUNTS[n])]
)
def test_lookup_matches_correct_answer(
    imported: calib.Store, testdata: Path, name: str, case: int
) -> None:
    lookups = _expected(testdata, name)["lookups"]
    assert len(lookups) == _LOOKUP_COUNTS[name]
    lookup = lookups[case]
    want = lookup["correct"]
    at = calib.from_seconds(lookup["timestamp"])
    if lookup["ctype"] not in [c.name for c in imported.ctypes(name)]:
        assert want["result"] is None  # a calibration type the file lacks: a clear error
        with pytest.raises(NotFoundError, match="no calibration type"):
            imported.find(name, lookup["ctype"], at)
        return
    got = imported.find(name, lookup["ctype"], at, version=lookup["version"])
    if want["result"] is None:
        assert got is None, lookup["case"]
        if want["range"] is not None:  # the interval exists, the version does not
            with pytest.raises(calib.NoConstantsError, match=want["range"]):
                imported.get(name, lookup["ctype"], at, version=lookup["version"])
        return
    assert got is not None, lookup["case"]
    assert got.source.interval.key == want["range"]
    assert got.version == want["version"]
    assert _summary(got.value) == {k: want["result"][k] for k in _summary(got.value)}


@pytest.mark.parametrize("name", SAMPLES)
def test_tree_matches_dcstore_report(imported: calib.Store, testdata: Path, name: str) -> None:
    tree = _expected(testdata, name)["tree_as_dcstore_reports"]
    det = imported.state(name).detector
    assert det.type == tree["dettype"].strip("b'")
    assert det.id == name.split("-")[1]
    pred = tree["predecessor"]
    assert det.predecessor == (pred["bytes"] if pred else None)
    assert det.tags["dcstore_tscfile"] == tree["tscfile"]
    assert {k: v for k, v in det.tags.items() if k != "dcstore_tscfile"} == tree["tags"]
    assert sorted(c.name for c in imported.ctypes(name)) == sorted(tree["ctypes"])
    for ctype, ctree in tree["ctypes"].items():
        intervals = {i.key: i for i in imported.intervals(name, ctype)}
        assert set(intervals) == set(ctree["ranges"])
        for key, rtree in ctree["ranges"].items():
            _check_range(imported, name, ctype, intervals[key], rtree)


def _check_range(
    store: calib.Store, name: str, ctype: str, interval: calib.Interval, rtree: dict[str, Any]
) -> None:
    assert interval.since == calib.from_seconds(rtree["begin"])
    end = rtree["end"]
    assert interval.until == (None if end == "end" else calib.from_seconds(end))
    assert interval.tags == rtree["tags"]
    versions = {v.number: v for v in store.versions(name, ctype, interval.id)}
    for vnum, vtree in rtree["versions"].items():
        version = versions[int(vnum)]
        assert version.produced == calib.from_seconds(vtree["tsprod"])
        assert version.tags == vtree["tags"]
        value = store.get(name, ctype, interval.since, version=int(vnum)).value
        assert _summary(value) == {k: vtree["data"][k] for k in _summary(value)}


def test_repairs_are_reported(testdata: Path, tmp_path: Path) -> None:
    store = calib.Store(tmp_path / "s", create=True)
    report = calib.import_dcstore(store, testdata / "calib" / "cspad-987654.h5")
    assert (report.intervals, report.versions) == (5, 11)  # v0003 of R3 recovered
    assert any("recovered as version 3" in n for n in report.notes)
    assert any("default 1 was set after a reload" in n for n in report.notes)
    r3 = next(i for i in store.intervals("cspad-987654", "pedestals") if i.key == "1500005000-end")
    assert (
        store.versions("cspad-987654", "pedestals", r3.id)[2].comment == "R3 v3 added after reload"
    )
    epix = calib.import_dcstore(store, testdata / "calib" / "epix100a-3925868555.h5")
    assert any("del range 1510000200-end" in n for n in epix.notes)
    texts = [e.fields.get("text", "") for e in store.history("epix100a-3925868555")]
    assert "del range 1510000200-end: bad constants" in texts  # deletion kept on record
    assert "del version 1: wrong gain" in texts


def test_reimport_is_refused(testdata: Path, tmp_path: Path) -> None:
    store = calib.Store(tmp_path / "s", create=True)
    calib.import_dcstore(store, testdata / "calib" / "epix100a-3925868555.h5")
    with pytest.raises(ConfigError, match="exists already"):
        calib.import_dcstore(store, testdata / "calib" / "epix100a-3925868555.h5")
    calib.import_dcstore(store, testdata / "calib" / "epix100a-3925868555.h5", detector="epix-b")
    assert store.get("epix-b", "pedestals", calib.from_seconds(1510000050.0)).version == 1
