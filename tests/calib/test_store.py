"""The store: versions, defaults, invalidation, overlaps, lookups, tags, export, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tierflow import calib
from tierflow.errors import ConfigError, MismatchError, NotFoundError


def _add(
    store: calib.Store,
    value: object,
    since: int,
    until: int | None = None,
    ctype: str = "gain",
    **kwargs: object,
) -> calib.Source:
    with store.edit() as edit:
        return edit.add("ch1", ctype, value, since, until, **kwargs)


def test_add_get_and_source(store: calib.Store) -> None:
    src = _add(store, {"a": 1.5, "b": [1, 2]}, 0, 100, comment="first fit")
    payload = store.get("ch1", "gain", at=50)
    assert payload.value["a"] == 1.5
    assert payload.value["b"] == (1, 2)  # read-only view: lists become tuples
    assert payload.version == 1
    assert (
        payload.hash
        == src.hash
        == calib.content_hash(*calib._payload.canonical({"b": [1, 2], "a": 1.5}))
    )
    assert payload.source.interval.since == 0
    assert payload.source.interval.until == 100
    assert payload.source.version.comment == "first fit"
    assert payload.source.version.author == "tester"
    with pytest.raises(TypeError):
        payload.value["a"] = 2  # type: ignore[index]
    mutable = payload.unfrozen()
    mutable["a"] = 3
    assert store.get("ch1", "gain", at=50).value["a"] == 1.5


def test_half_open_interval_and_gaps(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, 100)
    assert store.find("ch1", "gain", at=99) is not None
    assert store.find("ch1", "gain", at=100) is None
    assert store.find("ch1", "gain", at=-1) is None
    with pytest.raises(calib.NoConstantsError, match="nearest intervals"):
        store.get("ch1", "gain", at=100)


def test_versions_default_and_latest(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, 100)
    _add(store, {"a": 2}, 0, 100)
    assert store.get("ch1", "gain", at=1).value["a"] == 2  # latest valid when no default set
    with store.edit() as edit:
        edit.set_default("ch1", "gain", 0, 1)
    assert store.get("ch1", "gain", at=1).value["a"] == 1
    assert store.get("ch1", "gain", at=1, version=2).value["a"] == 2
    _add(store, {"a": 3}, 0, 100)  # a new version does not override an explicit default
    assert store.get("ch1", "gain", at=1).version == 1
    with store.edit() as edit:
        edit.set_default("ch1", "gain", 0, None)
    assert store.get("ch1", "gain", at=1).version == 3
    assert [v.number for v in store.versions("ch1", "gain", 0)] == [1, 2, 3]


def test_invalidated_version_never_the_default(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, 100)
    _add(store, {"a": 2}, 0, 100, default=True)
    with store.edit() as edit:
        edit.invalidate("ch1", "gain", 0, 2, reason="wrong peak")
    assert store.get("ch1", "gain", at=1).version == 1
    with pytest.raises(calib.InvalidatedError, match="wrong peak"):
        store.get("ch1", "gain", at=1, version=2)
    assert store.versions("ch1", "gain", 0)[1].invalidated == "wrong peak"  # kept on record
    with pytest.raises(ConfigError, match="invalidated"), store.edit() as edit:
        edit.set_default("ch1", "gain", 0, 2)


def test_invalidated_interval_falls_back_and_frees_the_range(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, 100)
    with pytest.raises(calib.OverlapError, match=r"interval #0"):
        _add(store, {"a": 2}, 50, 150)
    with store.edit() as edit:
        edit.invalidate("ch1", "gain", 0, reason="bad run")
    assert store.find("ch1", "gain", at=10) is None
    _add(store, {"a": 2}, 50, 150)  # allowed now that the old interval is invalidated
    assert store.get("ch1", "gain", at=60).value["a"] == 2
    assert len(store.intervals("ch1", "gain")) == 2


def test_overlap_error_names_the_conflict(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, None)
    with pytest.raises(calib.OverlapError) as info:
        _add(store, {"a": 2}, 10**9, 2 * 10**9)
    assert "interval #0" in str(info.value)
    assert "latest-since" in str(info.value)
    assert store.get("ch1", "gain", at=10**9).value["a"] == 1  # the failed edit left nothing


def test_latest_since_stacks_and_skips_empty(store: calib.Store) -> None:
    _add(store, np.zeros(3), 0, None, ctype="peds")
    _add(store, np.ones(3), 100, 200, ctype="peds")
    assert store.get("ch1", "peds", at=150).value[0] == 1
    assert store.get("ch1", "peds", at=200).value[0] == 0
    with store.edit() as edit:
        edit.invalidate("ch1", "peds", 1, 1)
    assert store.get("ch1", "peds", at=150).value[0] == 0  # an empty interval shadows nothing


def test_array_payloads_of_any_dtype(store: calib.Store) -> None:
    values = [
        np.array(["pulser", "baseline", "ünïcode"]),
        np.array([b"ab", b"c"]),
        np.arange(12, dtype="<u2").reshape(3, 4),
        np.array([True, False]),
        np.array([(1, 2.5)], dtype=[("x", "<i4"), ("y", "<f8")]),
        np.array([1 + 2j]),
        np.array(["a", "b"], dtype=object),
    ]
    for n, value in enumerate(values):
        _add(store, value, n * 10, n * 10 + 10)
    reopened = calib.Store(store.path)
    for n, value in enumerate(values):
        got = reopened.get("ch1", "gain", at=n * 10).value
        expected = np.asarray(value).astype(str) if value.dtype == object else value
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        assert not got.flags.writeable


def test_bad_payloads_refused(store: calib.Store) -> None:
    for bad in ("text", np.array([object()]), {1: 2}, {"a": object()}):
        with pytest.raises(MismatchError), store.edit() as edit:
            edit.add("ch1", "gain", bad, 0, 1)


def test_hash_is_content_not_history(store: calib.Store) -> None:
    a = _add(store, np.arange(4.0), 0, 10)
    b = _add(store, np.arange(4.0), 10, 20)
    c = _add(store, np.arange(4), 20, 30)
    assert a.hash == b.hash != c.hash  # equal data, equal hash; dtype is part of identity
    assert calib.content_hash(*calib._payload.canonical(np.arange(4.0))) == a.hash


def test_caller_buffer_changes_do_not_leak(store: calib.Store) -> None:
    buffer = np.zeros(3)
    _add(store, buffer, 0, 10)
    buffer[:] = 9
    assert store.get("ch1", "gain", at=0).value.sum() == 0


def test_names_errors_suggest(store: calib.Store) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'ch1'"):
        store.get("ch11", "gain", at=0)
    with pytest.raises(NotFoundError, match="did you mean 'gain'"):
        store.get("ch1", "gian", at=0)
    store.tags.create("prod")
    with pytest.raises(NotFoundError, match="did you mean 'prod'"):
        store.get("ch1", "gain", at=0, tag="prd")
    assert store.find("ch1", "gain", at=0) is None  # absence is None, a wrong name raises
    with pytest.raises(NotFoundError):
        store.find("nope", "gain", at=0)


def test_alias_and_detector_model(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, 10)
    assert store.get("V01", "gain", at=0).source.detector == "ch1"
    det = store.detectors()[0]
    assert (det.name, det.type, det.id, det.aliases, det.tags) == (
        "ch1",
        "ged",
        "V01234A",
        ("V01",),
        {"string": 1},
    )
    with store.edit() as edit:
        edit.add_detector("ch2", "ged", predecessor="ch1")
        edit.update_detector("ch1", successor="ch2")
    reopened = calib.Store(store.path)
    assert reopened.state("ch1").detector.successor == "ch2"
    assert reopened.state("ch2").detector.predecessor == "ch1"
    with pytest.raises(ConfigError, match="exists already"), store.edit() as edit:
        edit.add_detector("ch2")
    with pytest.raises(ConfigError, match="invalid detector name"), store.edit() as edit:
        edit.add_detector("../evil")


def test_run_axis(store: calib.Store) -> None:
    with store.edit() as edit:
        edit.add_ctype("ch1", "cuts", axis=calib.Axis.RUN)
        edit.add("ch1", "cuts", {"aoe_low": -2.0}, since=10, until=20)
        edit.add("ch1", "cuts", {"aoe_low": -1.5}, since=20)
    assert store.get("ch1", "cuts", at=19).value["aoe_low"] == -2.0
    assert store.get("ch1", "cuts", at=500).value["aoe_low"] == -1.5
    assert store.ctypes("ch1")[-1].axis is calib.Axis.RUN


def test_history_records_every_change(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, 10)
    with store.edit(author="alice") as edit:
        edit.set_default("ch1", "gain", 0, 1)
        edit.invalidate("ch1", "gain", 0, 1, reason="oops")
        edit.note("ch1", "checked by hand")
    actions = [e.action for e in calib.Store(store.path).history("ch1")]
    assert actions == [
        calib.Action.CREATE_DETECTOR,
        calib.Action.ADD_CTYPE,
        calib.Action.ADD_CTYPE,
        calib.Action.ADD_INTERVAL,
        calib.Action.ADD_VERSION,
        calib.Action.SET_DEFAULT,
        calib.Action.INVALIDATE_VERSION,
        calib.Action.NOTE,
    ]
    assert store.history("ch1")[-1].author == "alice"
    assert [e.seq for e in store.history("ch1")] == list(range(1, 9))


def test_failed_edit_writes_nothing(store: calib.Store) -> None:
    before = (store.path / "ch1.h5").read_bytes()

    def change_mind() -> None:
        with store.edit() as edit:
            edit.add("ch1", "gain", {"a": 1}, 0, 10)
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        change_mind()
    assert (store.path / "ch1.h5").read_bytes() == before
    assert calib.Store(store.path).find("ch1", "gain", at=0) is None
    assert not list(store.path.glob("*.tmp"))


def test_edits_do_not_nest_and_need_a_with(store: calib.Store) -> None:
    editor = store.edit()
    with pytest.raises(ConfigError, match=r"with store\.edit"):
        editor.add("ch1", "gain", {"a": 1}, 0, 1)
    with store.edit(), pytest.raises(ConfigError, match="nest"), store.edit():
        pass
    with store.edit(), pytest.raises(ConfigError, match="inside a store edit"):
        store.tags.create("x")


def test_refresh_sees_other_writers(store: calib.Store) -> None:
    reader = calib.Store(store.path)
    assert reader.find("ch1", "gain", at=0) is None
    _add(store, {"a": 1}, 0, 10)
    assert reader.find("ch1", "gain", at=0) is None  # lookups never touch the disk
    assert reader.refresh()
    assert reader.get("ch1", "gain", at=0).value["a"] == 1
    assert not reader.refresh()


def test_get_many_matches_single_lookups(store: calib.Store) -> None:
    with store.edit() as edit:
        edit.add_detector("ch2")
        edit.add_ctype("ch2", "gain")
        edit.add("ch1", "gain", {"a": 1.0, "p": {"q": 10.0}}, 0, 100)
        edit.add("ch1", "gain", {"a": 2.0, "p": {"q": 20.0}}, 100, None)
        edit.add("ch2", "gain", {"a": 3.0, "p": {"q": 30.0}}, 50, 60)
    rng = np.random.default_rng(1)
    times = rng.integers(-10, 200, 500)
    dets = np.array(["ch1", "ch2", "V01"])[rng.integers(0, 3, 500)]
    hits = store.get_many(dets, "gain", times)
    for det, at, payload in zip(dets.tolist(), times.tolist(), hits, strict=True):
        single = store.find(det, "gain", at)
        assert (payload is None and single is None) or payload.hash == single.hash  # type: ignore[union-attr]
    values = hits.values("p.q")
    expected = [np.nan if p is None else p.value["p"]["q"] for p in hits]
    np.testing.assert_array_equal(values, expected)
    names = ["ch1", "ch2", "V01"]
    codes = np.array([names.index(d) for d in dets.tolist()])
    by_code = store.get_many(names, "gain", times, codes=codes)
    assert [p and p.hash for p in by_code] == [p and p.hash for p in hits]
    with pytest.raises(NotFoundError, match="did you mean 'a'"):
        hits.values("aa")


def test_get_many_arrays_and_codes(store: calib.Store) -> None:
    _add(store, np.array([1.0, 2.0]), 0, 10, ctype="peds")
    _add(store, np.array([3.0, 4.0]), 10, 20, ctype="peds")
    hits = store.get_many(["ch1"], "peds", np.array([5, 15, 25]), codes=np.zeros(3, int))
    np.testing.assert_array_equal(hits.values(), [[1, 2], [3, 4], [np.nan, np.nan]])
    np.testing.assert_array_equal(hits.found, [True, True, False])
    with pytest.raises(ConfigError):
        store.get_many(["ch1"], "peds", np.array([5]), codes=np.array([3]))
    _add(store, np.zeros(5), 30, 40, ctype="peds")
    with pytest.raises(MismatchError, match="different shapes"):
        store.get_many("ch1", "peds", np.array([5, 35])).values()


def test_global_tag_frozen_answers_never_change(store: calib.Store) -> None:
    _add(store, {"a": 1}, 0, 100)
    store.tags.create("live")
    store.tags.create("v1", "first production", freeze=True)
    _add(store, {"a": 2}, 0, 100)
    _add(store, {"a": 9}, 100, 200)
    assert store.get("ch1", "gain", at=5, tag="v1").value["a"] == 1
    assert store.find("ch1", "gain", at=150, tag="v1") is None
    assert store.get("ch1", "gain", at=5, tag="live").value["a"] == 2
    with store.edit() as edit:
        edit.invalidate("ch1", "gain", 0, 1, reason="superseded")
    frozen = store.get("ch1", "gain", at=5, tag="v1")
    assert frozen.value["a"] == 1
    assert frozen.source.global_tag == "v1"
    assert frozen.source.version.invalidated == "superseded"  # shown, still reproducible
    with pytest.raises(ConfigError, match="frozen already"):
        store.tags.freeze("v1")
    reopened = calib.Store(store.path)
    assert reopened.get("ch1", "gain", at=5, tag="v1").value["a"] == 1
    assert reopened.tags.get("v1").description == "first production"
    assert [e.action for e in reopened.history()] == [
        calib.Action.CREATE_TAG,
        calib.Action.CREATE_TAG,
        calib.Action.FREEZE_TAG,
    ]


def test_export_global_tag(store: calib.Store, tmp_path: Path) -> None:
    _add(store, {"a": 1}, 0, 100)
    _add(store, np.arange(3.0), 0, None, ctype="peds")
    _add(store, np.arange(3.0) + 1, 50, 60, ctype="peds")
    store.tags.create("v1", freeze=True)
    _add(store, {"a": 2}, 0, 100)
    out = store.tags.export("v1", tmp_path / "v1.h5")
    offline = calib.Store(out)
    for at in (0, 55, 70, 150):
        for ctype in ("gain", "peds"):
            want = store.find("ch1", ctype, at, tag="v1")
            for tag in ("v1", None):
                got = offline.find("ch1", ctype, at, tag=tag)
                assert (got is None) == (want is None)
                if got is not None and want is not None:
                    assert (got.hash, got.version) == (want.hash, want.version)
    assert offline.tags.get("v1").frozen is not None
    assert offline.state("ch1").detector.aliases == ("V01",)
    with pytest.raises(ConfigError, match="exists already"):
        store.tags.export("v1", out)


def test_corrupted_payload_is_detected(store: calib.Store) -> None:
    import h5py

    src = _add(store, np.arange(4.0), 0, 10)
    with h5py.File(store.path / "ch1.h5", "r+") as f:
        f[f"payloads/{src.hash}"][0] = 42.0
    with pytest.raises(calib._storage.FormatError, match="content hash"):
        calib.Store(store.path).get("ch1", "gain", at=0)


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        calib.Store(tmp_path / "missing")
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_group("detectors/x").create_dataset("log", data=[json.dumps({})])
    with pytest.raises(calib._storage.FormatError, match="format version"):
        calib.Store(tmp_path / "other.h5").state("x")


def test_parameter_source_protocol(store: calib.Store) -> None:
    _add(store, {"pars": {"a": 0.0, "b": 0.25}}, 0, 100)
    _add(store, np.array([1.0, 2.0]), 0, 100, ctype="peds")
    store.tags.create("prod", freeze=True)
    _add(store, {"pars": {"a": 1.0, "b": 0.5}}, 0, 100)
    source = store.parameter_source(global_tag="prod")
    params = source.lookup("ch1", "gain", 10)
    assert params == {"pars": {"a": 0.0, "b": 0.25}}
    assert isinstance(params, dict)
    params["pars"]["a"] = 5.0  # the caller's copy; the store is untouched
    assert source.lookup("ch1", "gain", 10)["pars"]["a"] == 0.0
    np.testing.assert_array_equal(source.lookup("ch1", "peds", 10), [1.0, 2.0])
    prov = source.provenance()
    assert prov["calib_store"] == str(store.path)
    assert prov["global_tag"] == "prod"
    assert prov["global_tag_frozen"]
    assert all(isinstance(v, str) for v in prov.values())
    used = json.loads(prov["calib_versions"])
    assert len(used) == 2
    assert used[0].startswith("ch1/gain@0:v1:")
    live = store.parameter_source()
    assert live.lookup("ch1", "gain", 10)["pars"]["a"] == 1.0
    assert live.provenance()["global_tag"] == ""
    assert json.loads(live.provenance()["calib_versions"])[0].startswith("ch1/gain@0:v2:")
    with pytest.raises(NotFoundError):
        store.parameter_source(global_tag="prd")
    with pytest.raises(calib.NoConstantsError):
        live.lookup("ch1", "gain", 1000)
