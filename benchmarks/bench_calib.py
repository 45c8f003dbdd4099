"""Benchmark of the calibration store: single lookups, a million vectorised lookups, and psana's
DCStore on the same sample file when its source is available.

Run: ``python benchmarks/bench_calib.py [--pscalib-src PATH/TO/PSCalib/src]``.

DCStore (psana PSCalib) is not on PyPI and needs psana; give the folder holding its ``DC*.py``
(``--pscalib-src`` or ``PSCALIB_SRC``): the psana-only modules it imports (``psana``,
``CalibManager``, ``Detector``) are replaced by empty stand-ins for the run, as in
``shared/testdata/calib/README.md``. Nothing is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tierflow import calib
from tierflow.testing import find_testdata

SAMPLE = "cspad-987654"
SAMPLE_TIMES = [1500000500.0, 1500002500.0, 1500090000.0, 1500002200.0]


def _rate(fn: Callable[[], Any], n: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def make_big_store(folder: Path, detectors: int, intervals: int) -> calib.Store:
    """`detectors` x `intervals` daily intervals of a dict payload, 2 versions each."""
    store = calib.Store(folder / "big", create=True, author="bench")
    day = 86_400 * 10**9
    with store.edit() as edit:
        for d in range(detectors):
            name = f"ch{1000000 + d}"
            edit.add_detector(name, "ged")
            edit.add_ctype(name, "ecal")
            for i in range(intervals):
                for v in range(2):
                    edit.add(
                        name,
                        "ecal",
                        {"a": 0.1 * v, "b": 0.25 + d + i / 1e3},
                        i * day,
                        (i + 1) * day,
                    )
    return calib.Store(store.path)


def bench_tierflow(tmp: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    store = make_big_store(tmp, detectors=100, intervals=50)
    out["build 100 det x 50 intervals x 2 versions [s]"] = time.perf_counter() - t0
    day = 86_400 * 10**9
    at = 17 * day + 5
    out["single get, live [lookups/s]"] = _rate(lambda: store.get("ch1000042", "ecal", at), 200_000)
    store.tags.create("prod", freeze=True)
    out["single get, frozen tag [lookups/s]"] = _rate(
        lambda: store.get("ch1000042", "ecal", at, tag="prod"), 200_000
    )
    rng = np.random.default_rng(0)
    n = 1_000_000
    names = [f"ch{1000000 + d}" for d in range(100)]
    codes = rng.integers(0, 100, n)
    times = rng.integers(0, 50 * day, n)
    as_strings = np.array(names)[codes]
    for label, call in [
        (
            "get_many 1M pairs, names per row [pairs/s]",
            lambda: store.get_many(as_strings, "ecal", times),
        ),
        (
            "get_many 1M pairs, integer codes [pairs/s]",
            lambda: store.get_many(names, "ecal", times, codes=codes),
        ),
        (
            "get_many 1M pairs + values('b') [pairs/s]",
            lambda: store.get_many(names, "ecal", times, codes=codes).values("b"),
        ),
    ]:
        call()
        start = time.perf_counter()
        call()
        out[label] = n / (time.perf_counter() - start)
    return out


def bench_sample(tmp: Path, sample: Path) -> tuple[dict[str, float], calib.Store]:
    store = calib.Store(tmp / "sample", create=True)
    start = time.perf_counter()
    calib.import_dcstore(store, sample)
    out = {"import DCStore sample [s]": time.perf_counter() - start}
    store = calib.Store(store.path)
    ats = [calib.from_seconds(t) for t in SAMPLE_TIMES]
    out["tierflow get on sample, open store [lookups/s]"] = _rate(
        lambda: [store.get(SAMPLE, "pedestals", a) for a in ats], 50_000
    ) * len(ats)

    def cold() -> None:
        fresh = calib.Store(store.path)
        fresh.get(SAMPLE, "pedestals", ats[0])

    out["tierflow open store + first get (cold) [lookups/s]"] = _rate(cold, 50)
    return out, store


def _stub(name: str) -> types.ModuleType:
    class _Any:
        def __getattr__(self, attr: str) -> Any:
            return _Any()

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return _Any()

    def lookup(attr: str) -> Any:
        if attr.isupper():  # constants such as DIR_ROOT_DATA
            return ""
        return _Any if attr[:1].isupper() else _Any()  # classes can be subclassed

    module = types.ModuleType(name)
    module.__path__ = []  # type: ignore[attr-defined]
    module.__getattr__ = lookup  # type: ignore[method-assign]
    return module


def load_dcstore(src: Path) -> Any:
    """Import PSCalib's DCMethods from `src` with psana-only modules stubbed out."""
    sys.dont_write_bytecode = True
    for name in (
        "psana",
        "CalibManager",
        "CalibManager.Logger",
        "CalibManager.ConfigParameters",
        "Detector",
        "Detector.dir_root",
        "Detector.PyDataAccess",
        "Detector.UtilsJungfrau",
        "pyimgalgos",
    ):
        sys.modules.setdefault(name, _stub(name))
    package = types.ModuleType("PSCalib")
    package.__path__ = [str(src)]  # type: ignore[attr-defined]
    sys.modules["PSCalib"] = package
    import importlib

    return importlib.import_module("PSCalib.DCMethods")


def bench_dcstore(src: Path, sample: Path, ours: calib.Store) -> dict[str, float]:
    dcm = load_dcstore(src)
    from PSCalib.DCStore import DCStore  # type: ignore[import-not-found]

    ctype = dcm.gu.PEDESTALS
    out = {}
    with contextlib.redirect_stdout(io.StringIO()):  # DCStore prints its load errors
        out["DCStore get_constants_from_file (reads the file) [lookups/s]"] = _rate(
            lambda: dcm.get_constants_from_file(str(sample), SAMPLE_TIMES[0], ctype=ctype), 50
        )
        cs = DCStore(str(sample))
        cs.load()

    def in_memory() -> None:
        for t in SAMPLE_TIMES:
            cr = cs.ctypeobj("pedestals").range_for_tsec(t)
            if cr is not None:
                cr.version(vnum=None)

    out["DCStore loaded, range_for_tsec+version [lookups/s]"] = _rate(in_memory, 5_000) * len(
        SAMPLE_TIMES
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pscalib-src", default=os.environ.get("PSCALIB_SRC"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        results = bench_tierflow(tmp)
        testdata = find_testdata(Path(__file__).resolve().parent.parent)
        sample = None if testdata is None else testdata / "calib" / f"{SAMPLE}.h5"
        if sample is not None and sample.exists():
            more, store = bench_sample(tmp, sample)
            results.update(more)
            if args.pscalib_src:
                anchor = bench_dcstore(Path(args.pscalib_src), sample, store)
                results.update(anchor)
                ours = results["tierflow get on sample, open store [lookups/s]"]
                results["ratio tierflow open store / DCStore loaded"] = (
                    ours / anchor["DCStore loaded, range_for_tsec+version [lookups/s]"]
                )
                results["ratio tierflow cold / DCStore from file"] = (
                    results["tierflow open store + first get (cold) [lookups/s]"]
                    / anchor["DCStore get_constants_from_file (reads the file) [lookups/s]"]
                )
            else:
                print("(DCStore not compared: pass --pscalib-src PATH/TO/PSCalib/src)")
    width = max(map(len, results))
    for label, value in results.items():
        print(f"{label:<{width}}  {value:>14,.2f}")


if __name__ == "__main__":
    main()
