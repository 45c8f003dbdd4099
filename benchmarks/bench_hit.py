"""Hit-tier throughput: tierflow's build_hit against pygama's (the anchor) when it is installed.

Run ``python benchmarks/bench_hit.py`` (``--rows N`` for the size of the large table, default
5,000,000; ``--quick`` for one repeat and no anchor run on the large table). Two inputs:

* the real 38,343-row dsp file of ``../shared`` with the production-shaped config
  (``hit-legend-like-config.json``);
* a dsp-like table of ``--rows`` rows made in a temporary folder by repeating that file's
  columns (written gzip'd, as LEGEND's are).

Both libraries write gzip + shuffle (the anchor's defaults, the files are interchangeable);
tierflow is also timed writing zstd. Rows per second is the best of the repeats, library call
only (imports excluded).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tierflow import lh5
from tierflow.hit import build_hit
from tierflow.testing import find_testdata
from tierflow.types import Table

try:
    from pygama.hit import build_hit as anchor_build_hit  # type: ignore[import-not-found]
except ImportError:
    anchor_build_hit = None

DSP = "legend/lh5/prod-ref-l200/generated/tier/dsp/cal/p03/r000/"
DSP += "l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
TABLE = "ch1104000/dsp"


def _best(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _make_big(source: Path, rows: int, target: Path, fields: list[str]) -> None:
    """`rows` rows of `source`'s columns, repeated, written in chunks."""
    table: Table = lh5.read(TABLE, source, fields=fields)
    step = 500_000
    block = table.take(np.arange(step) % len(table))
    mode = lh5.WriteMode.CREATE
    for start in range(0, rows, step):
        part = block if start + step <= rows else block.take(slice(0, rows - start))
        lh5.write(part, TABLE, target, mode=mode)
        mode = lh5.WriteMode.APPEND


def _bench(name: str, dsp: Path, rows: int, config: dict[str, Any], repeats: int, anchor: bool,
           work: Path) -> None:  # fmt: skip
    ours = _best(
        lambda: build_hit(dsp, work / "ours.lh5", hit_config=config, wo_mode="overwrite_file"),
        repeats,
    )
    zstd = _best(
        lambda: build_hit(
            dsp,
            work / "ours_zstd.lh5",
            hit_config=config,
            wo_mode="overwrite_file",
            hdf5_settings={"compression": "zstd"},
        ),
        repeats,
    )
    line = f"{name:>28}: tierflow {rows / ours:>11,.0f} rows/s (zstd out {rows / zstd:>11,.0f})"
    if anchor and anchor_build_hit is not None:
        theirs = _best(
            lambda: anchor_build_hit(
                str(dsp),
                str(work / "anchor.lh5"),
                hit_config=json.loads(json.dumps(config)),
                lh5_tables=[TABLE],
                wo_mode="of",
            ),
            repeats,
        )
        line += f" | pygama {rows / theirs:>9,.0f} rows/s | ratio {theirs / ours:5.1f}x"
        line += f" (zstd {theirs / zstd:5.1f}x)"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    testdata = find_testdata(Path(__file__).resolve().parent.parent)
    if testdata is None:
        print("no shared test data: nothing to benchmark", file=sys.stderr)
        return 1
    dsp = testdata / DSP
    configs = testdata.parent / "reference" / "legend" / "configs"
    config = json.loads((configs / "hit-legend-like-config.json").read_text())
    repeats = 1 if args.quick else 3
    if anchor_build_hit is None:
        print("pygama is not installed: tierflow alone")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _bench("38,343-row dsp file", dsp, lh5.n_rows(TABLE, dsp), config, repeats, True, work)
        from tierflow.hit import make_hit_config

        fields = make_hit_config(config).input_names()
        big = work / "big_dsp.lh5"
        _make_big(dsp, args.rows, big, fields)
        _bench(f"{args.rows:,}-row table", big, args.rows, config, 1, not args.quick, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
