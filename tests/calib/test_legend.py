"""Import of LEGEND-style validity trees (fixtures written here: the shared data has none)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tierflow import calib
from tierflow.calib._legend import files_in_force
from tierflow.errors import FormatError, NotFoundError

T0, T1, T2, T3 = "20230101T000000Z", "20230201T000000Z", "20230301T000000Z", "20230401T000000Z"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    folder = tmp_path / "hit_pars"
    folder.mkdir()
    (folder / "base.yaml").write_text(
        yaml.safe_dump(
            {
                "ch1": {"pars": {"a": 0.0, "b": 0.25}, "cut": -2.0},
                "ch2": {"pars": {"a": 0.1, "b": 0.5}},
            }
        )
    )
    (folder / "fix.json").write_text(json.dumps({"ch1": {"pars": {"b": 0.26}}}))
    (folder / "cal.yaml").write_text(yaml.safe_dump({"ch1": {"cut": -3.0}}))
    (folder / "new.yaml").write_text(yaml.safe_dump({"ch2": {"pars": {"a": 0.2, "b": 0.5}}}))
    (folder / "validity.yaml").write_text(
        yaml.safe_dump(
            [
                {"valid_from": T0, "category": "all", "apply": ["base.yaml"]},
                {"valid_from": T1, "category": "all", "mode": "append", "apply": ["fix.json"]},
                {
                    "valid_from": T1,
                    "category": "cal",
                    "mode": "reset",
                    "apply": ["base.yaml", "cal.yaml"],
                },
                {"valid_from": T2, "category": "all", "mode": "remove", "apply": ["fix.json"]},
                {
                    "valid_from": T3,
                    "category": "all",
                    "mode": "replace",
                    "apply": ["base.yaml", "new.yaml"],
                },
            ]
        )
    )
    return folder


def test_files_in_force(tree: Path) -> None:
    at = calib.parse_time
    assert files_in_force(tree / "validity.yaml") == [
        (at(T0), ["base.yaml"]),
        (at(T1), ["base.yaml", "fix.json"]),
        (at(T2), ["base.yaml"]),
        (at(T3), ["new.yaml"]),
    ]
    assert files_in_force(tree / "validity.yaml", "cal") == [(at(T1), ["base.yaml", "cal.yaml"])]
    assert files_in_force(tree / "validity.yaml", "phy") == files_in_force(tree / "validity.yaml")


def test_import_and_lookups(tree: Path, tmp_path: Path) -> None:
    store = calib.Store(tmp_path / "s", create=True)
    counts = calib.import_legend_validity(store, tree, "hit_pars", detector_type="ged")
    # ch1: base, base+fix (b merged deep), base again, then gone after T3
    assert counts == {"ch1": 3, "ch2": 2}
    at = calib.parse_time
    assert store.get("ch1", "hit_pars", at(T0)).value["pars"]["b"] == 0.25
    merged = store.get("ch1", "hit_pars", at(T1))
    assert merged.unfrozen() == {"pars": {"a": 0.0, "b": 0.26}, "cut": -2.0}
    assert store.get("ch1", "hit_pars", at(T2)).value["pars"]["b"] == 0.25
    assert store.find("ch1", "hit_pars", at(T3)) is None
    assert store.find("ch1", "hit_pars", at(T0) - 1) is None
    # ch2 is unchanged from T0 to T3: one interval, not three
    first = store.get("ch2", "hit_pars", at(T2)).source.interval
    assert (first.since, first.until) == (at(T0), at(T3))
    assert store.get("ch2", "hit_pars", at(T3) + 10**18).value["pars"]["a"] == 0.2
    assert store.state("ch1").detector.type == "ged"
    again = calib.import_legend_validity(store, tree, "hit_pars")
    assert again == counts
    assert len(store.versions("ch1", "hit_pars", 0)) == 1  # re-import adds nothing


def test_import_category(tree: Path, tmp_path: Path) -> None:
    store = calib.Store(tmp_path / "s", create=True)
    calib.import_legend_validity(store, tree, "cal_pars", category="cal")
    assert store.get("ch1", "cal_pars", calib.parse_time(T2)).value["cut"] == -3.0


def test_bad_trees(tree: Path, tmp_path: Path) -> None:
    store = calib.Store(tmp_path / "s", create=True)
    with pytest.raises(NotFoundError, match="no validity file"):
        calib.import_legend_validity(store, tmp_path, "x")
    (tree / "validity.yaml").write_text(yaml.safe_dump([{"valid_from": T0, "apply": ["bse.yaml"]}]))
    with pytest.raises(NotFoundError, match=r"did you mean 'base\.yaml'"):
        calib.import_legend_validity(store, tree, "x")
    (tree / "validity.yaml").write_text(yaml.safe_dump([{"valid_from": T0}]))
    with pytest.raises(FormatError, match="'valid_from' and 'apply'"):
        calib.import_legend_validity(store, tree, "x")
    (tree / "validity.yaml").write_text(
        yaml.safe_dump([{"valid_from": T0, "apply": "base.yaml", "mode": "merge"}])
    )
    with pytest.raises(FormatError, match="unknown mode"):
        calib.import_legend_validity(store, tree, "x")
    assert store.detector_names() == []


def test_jsonl_validity_resets_by_default(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    for n in (1, 2):
        (folder / f"f{n}.json").write_text(json.dumps({"ch9": {"v": n}}))
    rows = [{"valid_from": T0, "apply": ["f1.json"]}, {"valid_from": T1, "apply": ["f2.json"]}]
    (folder / "validity.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert [f for _, f in files_in_force(folder / "validity.jsonl")] == [["f1.json"], ["f2.json"]]
