"""``tierflow dsp``: raw-tier files through a processing chain into the dsp tier."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tierflow.cli._options import add_hdf5_option

__all__ = ["DspCommand"]


class DspCommand:
    help = "run a DSP processing chain (dspeed config format) over raw-tier LH5 files"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("raw", nargs="+", help="raw-tier LH5 file(s)")
        parser.add_argument("--config", required=True, help="processing-chain config (JSON/YAML)")
        parser.add_argument("--db", default=None, help="database for db.* values (JSON/YAML)")
        parser.add_argument(
            "--calib", default=None, help="calibration store for db.* values not in --db"
        )
        parser.add_argument("--global-tag", default=None, help="global tag of the --calib store")
        parser.add_argument(
            "--out",
            default=None,
            help="output file (one input) or folder (default: beside the input, raw -> dsp)",
        )
        parser.add_argument("--tables", nargs="*", default=None, help="tables or patterns (ch*)")
        parser.add_argument("--processes", type=int, default=1, help="processes (0: all cores)")
        parser.add_argument("--block-width", type=int, default=16)
        parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
        add_hdf5_option(parser)
        parser.add_argument("--progress", action="store_true", help="show a progress bar")

    def _output(self, raw: Path, out: str | None, many: bool) -> Path:
        name = raw.name.replace("raw", "dsp") if "raw" in raw.name else f"{raw.stem}_dsp.lh5"
        if out is None:
            return raw.with_name(name)
        target = Path(out)
        return target / name if many or target.is_dir() else target

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.dsp import build_dsp

        processes = args.processes or os.cpu_count() or 1
        source = None
        if args.calib is not None:
            from tierflow import calib

            source = calib.Store(args.calib).parameter_source(args.global_tag)
        for raw in map(Path, args.raw):
            target = self._output(raw, args.out, len(args.raw) > 1)
            build_dsp(
                raw,
                target,
                args.config,
                lh5_tables=args.tables,
                database=args.db,
                n_processes=processes,
                block_width=args.block_width,
                overwrite=args.overwrite,
                progress=args.progress,
                parameter_source=source,
                hdf5_settings=args.hdf5,
            )
            print(target)
        return 0
