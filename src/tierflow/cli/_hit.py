"""``tierflow hit``: make the hit tier of dsp files with a pygama-format config."""

from __future__ import annotations

import argparse
from pathlib import Path

from tierflow.cli._options import add_hdf5_option

__all__ = ["HitCommand"]


class HitCommand:
    help = "make hit-tier files from dsp files with a hit config (pygama's format)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("dsp_files", nargs="+", metavar="DSP_FILE", help="dsp-tier files")
        parser.add_argument(
            "--config", required=True, help="hit config (JSON or YAML), one for every table"
        )
        parser.add_argument(
            "--out",
            default=None,
            help="output file (one input) or directory (default: next to each input, "
            "_dsp replaced by _hit)",
        )
        parser.add_argument(
            "--table",
            action="append",
            dest="tables",
            default=None,
            help="table to process, repeatable (default: dsp and every */dsp)",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="replace output files that exist"
        )
        parser.add_argument("--n-max", type=int, default=None, help="rows per table at most")
        parser.add_argument("--buffer-len", type=int, default=None, help="rows per chunk")
        add_hdf5_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.errors import ConfigError
        from tierflow.hit import build_hit, default_outfile, make_hit_config
        from tierflow.lh5 import WriteMode

        config = make_hit_config(args.config)
        out = Path(args.out) if args.out is not None else None
        if out is not None and len(args.dsp_files) > 1 and not out.is_dir():
            raise ConfigError(f"--out {str(out)!r} must be a directory for several inputs")
        mode = WriteMode.OVERWRITE_FILE if args.overwrite else WriteMode.CREATE
        for infile in args.dsp_files:
            target = out
            if out is None or out.is_dir():
                target = default_outfile(infile)
                target = target if out is None else out / target.name
            written = build_hit(
                infile,
                target,
                hit_config=config,
                lh5_tables=args.tables,
                n_max=args.n_max if args.n_max is not None else float("inf"),
                wo_mode=mode,
                buffer_len=args.buffer_len,
                hdf5_settings=args.hdf5,
            )
            print(written)
        return 0
