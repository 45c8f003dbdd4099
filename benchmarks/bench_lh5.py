"""LH5 read and write throughput: tierflow against plain h5py and, when installed, legend-lh5io.

Run ``python benchmarks/bench_lh5.py`` (add ``--quick`` for one repeat). It reads the real files in
``../shared/testdata`` (or ``TIERFLOW_TESTDATA``); larger inputs are made from them in a temporary
folder by repeating their rows, so every library reads the very same datasets in the same run.
Read throughput is the best of several repeats, in MB/s of the data as it is in memory.

Write cases (gzip + shuffle, the LEGEND default) run the writers interleaved, repeat after
repeat, and give the median (the machine is shared): tierflow's parallel deflate path (the
default), tierflow through HDF5's own filters (``fast_write(enabled=False)``, the path before),
plain h5py with the same chunks and filters, and the anchor's ``lh5.write``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (Zstd for plain h5py)

from tierflow import lh5
from tierflow.lh5._settings import fast_write
from tierflow.testing import find_testdata

try:  # the anchor, installed with `pip install .[bench]`
    import lh5 as anchor  # type: ignore[import-not-found]
except ImportError:
    anchor = None

Reader = Callable[[], Any]
DSP_FILE = "l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"


@dataclass
class Case:
    name: str
    nbytes: int
    tierflow: Reader
    h5py: Reader | None
    anchor: Reader | None


def best_time(fn: Reader, repeats: int) -> float:
    fn()  # warm the page cache and any JIT
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def h5py_read_all(file: Path, name: str, fields: list[str] | None = None) -> int:
    """Every dataset below `name` (or only `fields`), read whole with plain h5py."""
    total = 0
    with h5py.File(file, "r") as handle:
        group = handle[name]
        targets = [group[f] for f in fields] if fields else [group]
        datasets: list[h5py.Dataset] = []
        for target in targets:
            if isinstance(target, h5py.Dataset):
                datasets.append(target)
            else:
                target.visititems(
                    lambda _, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None
                )
        for ds in datasets:
            total += ds[()].nbytes if ds.dtype.kind != "O" else ds.size
    return total


def nbytes_of(obj: Any) -> int:
    from tierflow.types import Array, Struct, VectorOfVectors

    if isinstance(obj, Array):
        return int(obj.nda.nbytes)
    if isinstance(obj, VectorOfVectors):
        return nbytes_of(obj.flattened_data) + nbytes_of(obj.cumulative_length)
    if isinstance(obj, Struct):
        return sum(nbytes_of(v) for v in obj.values())
    return 0


def replicate(source: Path, name: str, target: Path, copies: int, **write_kw: Any) -> Path:
    """Write `copies` times the rows of `name` into `target` (tierflow writes, all read)."""
    table = lh5.read(name, source)
    for i in range(copies):
        mode = lh5.WriteMode.OVERWRITE_FILE if i == 0 else lh5.WriteMode.APPEND
        lh5.write(table, name, target, mode=mode, **write_kw)
    return target


def make_cases(data: Path, work: Path) -> list[Case]:
    cases: list[Case] = []
    reference = data.parent / "reference" / "legend"
    raw = reference / "raw" / "fcio-p06-cal-default.lh5"
    big_raw = replicate(
        raw,
        "FCEvent",
        work / "raw-x16.lh5",
        16,
        hdf5_settings={"compression": "gzip", "shuffle": True},
    )
    for label, file in (
        ("raw table, gzip (real file)", raw),
        ("raw table, gzip, x16 rows", big_raw),
    ):
        size = nbytes_of(lh5.read("FCEvent", file))
        cases.append(
            Case(
                f"{label}: full read with waveforms",
                size,
                lambda f=file: lh5.read("FCEvent", f),
                lambda f=file: h5py_read_all(f, "FCEvent"),
                (lambda f=file: anchor.read("FCEvent", str(f))) if anchor else None,
            )
        )

    dsp = data / "legend/lh5/prod-ref-l200/generated/tier/dsp/cal/p03/r000" / DSP_FILE
    table = lh5.ls(dsp, "ch*/dsp")[0]
    cols = ["trapEmax", "tp_0_est", "A_max"]
    big_dsp = replicate(dsp, table, work / "dsp-x64.lh5", 64)
    for label, file in (("dsp table (real file)", dsp), ("dsp table, x64 rows", big_dsp)):
        size = nbytes_of(lh5.read(table, file, fields=cols))
        cases.append(
            Case(
                f"{label}: 3 columns",
                size,
                lambda f=file: lh5.read(table, f, fields=cols),
                lambda f=file: h5py_read_all(f, table, cols),
                (lambda f=file: anchor.read(table, str(f), field_mask=cols)) if anchor else None,
            )
        )

    files = [big_dsp] * 4
    size = 4 * nbytes_of(lh5.read(table, big_dsp, fields=cols))

    def iterate_tierflow() -> None:
        for _ in lh5.LH5Iterator(files, table, buffer_len=20_000, fields=cols):
            pass

    def iterate_h5py() -> None:
        for file in files:
            with h5py.File(file) as handle:
                n = handle[f"{table}/trapEmax"].shape[0]
                for start in range(0, n, 20_000):
                    for col in cols:
                        handle[f"{table}/{col}"][start : start + 20_000]

    def iterate_anchor() -> None:
        for _ in anchor.LH5Iterator(
            [str(f) for f in files], table, buffer_len=20_000, field_mask=cols
        ):
            pass

    cases.append(
        Case(
            "chunked iteration, 4 files x 3 columns, 20k rows",
            size,
            iterate_tierflow,
            iterate_h5py,
            iterate_anchor if anchor else None,
        )
    )

    uleb = reference / "raw" / "fcio-p06-cal-uleb128.lh5"
    from tierflow.codecs import RadwareSigcompress

    radware = replicate(
        raw,
        "FCEvent",
        work / "radware-x16.lh5",
        16,
        codecs={"waveform/values": RadwareSigcompress(codec_shift=-32768)},
    )
    big_uleb = replicate(
        uleb,
        "FCEvent",
        work / "uleb-x16.lh5",
        16,
        codecs={"waveform/values": "uleb128_zigzag_diff"},
    )
    for label, file in (
        ("uleb128 (real file)", uleb),
        ("uleb128, x16 rows", big_uleb),
        ("radware, x16 rows", radware),
    ):
        name = "FCEvent/waveform/values"
        size = nbytes_of(lh5.read(name, file))
        cases.append(
            Case(
                f"compressed waveforms, {label}: read + decode",
                size,
                lambda f=file, n=name: lh5.read(n, f),
                lambda f=file, n=name: h5py_read_all(f, n),  # bytes only: h5py does not decode
                (lambda f=file, n=name: anchor.read(n, str(f))) if anchor else None,
            )
        )
    return cases


@dataclass
class WriteCase:
    name: str
    nbytes: int
    writers: dict[str, Reader]


GZIP = {"compression": "gzip", "shuffle": True}


def h5py_write(table: Any, target: Path) -> None:
    """Every column of a flat tierflow table, written gzip + shuffle with plain h5py."""
    with h5py.File(target, "w") as handle:
        group = handle.create_group("t")
        for name, column in table.flat_columns().items():
            data = column.nda
            kwargs = lh5._settings.dataset_kwargs(data.shape, data.dtype, GZIP)
            group.create_dataset(name.replace("/", "_"), data=data, **kwargs)


def make_write_cases(data: Path, work: Path) -> list[WriteCase]:
    dsp = data / "legend/lh5/prod-ref-l200/generated/tier/dsp/cal/p03/r000" / DSP_FILE
    name = lh5.ls(dsp, "ch*/dsp")[0]
    table = lh5.read(name, dsp)
    big = lh5.read(name, replicate(dsp, name, work / "dsp-x32.lh5", 32))
    raw = lh5.read("FCEvent", data.parent / "reference/legend/raw/fcio-p06-cal-default.lh5")
    cases = []
    for label, obj in (
        ("dsp table (38k rows)", table),
        ("dsp table x32 (1.2M rows)", big),
        ("raw table with waveforms", raw),
    ):
        target = work / "written.lh5"

        def ours(obj: Any = obj, target: Path = target) -> None:
            lh5.write(obj, "t", target, mode=lh5.WriteMode.OVERWRITE_FILE, hdf5_settings=GZIP)

        def ours_hdf5(obj: Any = obj, target: Path = target) -> None:
            with fast_write(enabled=False):
                ours(obj, target)

        writers: dict[str, Reader] = {"tierflow": ours, "tf-hdf5": ours_hdf5}
        if label.startswith("dsp"):
            writers["h5py"] = lambda obj=obj, target=target: h5py_write(obj, target)
        if anchor is not None:
            writers["anchor"] = lambda obj=obj, target=target: anchor.write(
                _to_anchor(obj), "t", str(target), wo_mode="of"
            )
        cases.append(WriteCase(f"write {label}, gzip", nbytes_of(obj), writers))
    return cases


def _to_anchor(obj: Any) -> Any:
    """The same table as the anchor's object (read back by the anchor from a tierflow file)."""
    cache = getattr(_to_anchor, "cache", {})
    if id(obj) not in cache:
        with tempfile.TemporaryDirectory() as folder:
            lh5.write(obj, "t", Path(folder) / "x.lh5")
            cache[id(obj)] = anchor.read("t", str(Path(folder) / "x.lh5"))
        _to_anchor.cache = cache  # type: ignore[attr-defined]
    return cache[id(obj)]


def run_write_cases(cases: list[WriteCase], repeats: int) -> None:
    columns = ("MB", "tierflow", "tf-hdf5", "h5py", "anchor", "tf/tf-hdf5", "tf/anchor")
    header = f"{'write case (median MB/s)':50s} " + " ".join(f"{c:>10s}" for c in columns)
    print(header)
    print("-" * len(header))
    for case in cases:
        times: dict[str, list[float]] = {k: [] for k in case.writers}
        for writer in case.writers.values():
            writer()  # warm up
        for _ in range(repeats):
            for key, writer in case.writers.items():
                start = time.perf_counter()
                writer()
                times[key].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in times.items()}
        mb = case.nbytes / 1e6
        rate = {k: mb / med[k] if k in med else float("nan") for k in columns[1:5]}
        nan = float("nan")
        print(
            f"{case.name:50s} {mb:10.1f} "
            + " ".join(f"{rate[k]:10.0f}" for k in columns[1:5])
            + f" {med['tf-hdf5'] / med['tierflow']:10.2f}"
            + f" {med.get('anchor', nan) / med['tierflow']:10.2f}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one repeat each")
    parser.add_argument("--write-only", action="store_true", help="only the write cases")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    data = find_testdata(Path(__file__).resolve().parent.parent)
    if data is None:
        print("no shared test data (../shared/testdata or TIERFLOW_TESTDATA): nothing to measure")
        return 1
    work = Path(tempfile.mkdtemp(prefix="tierflow-bench-"))
    try:
        print(f"legend-lh5io: {'installed' if anchor else 'not installed (pip install .[bench])'}")
        run_write_cases(make_write_cases(data, work), max(repeats, 3) if not args.quick else 1)
        if args.write_only:
            return 0
        cases = make_cases(data, work)
        columns = ("MB", "tierflow", "h5py", "anchor", "tf/h5py", "tf/anchor")
        header = f"{'case':62s} " + " ".join(f"{c:>9s}" for c in columns)
        print(header)
        print("-" * len(header))
        for case in cases:
            mb = case.nbytes / 1e6
            t_tf = best_time(case.tierflow, repeats)
            t_h5 = best_time(case.h5py, repeats) if case.h5py else float("nan")
            t_an = best_time(case.anchor, repeats) if case.anchor else float("nan")
            print(
                f"{case.name:62s} {mb:7.1f} {mb / t_tf:9.0f} {mb / t_h5:9.0f} {mb / t_an:9.0f} "
                f"{t_h5 / t_tf:8.2f} {t_an / t_tf:9.2f}"
            )
        print("columns: MB/s of in-memory data; ratios > 1 mean tierflow is faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
