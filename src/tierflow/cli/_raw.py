"""``tierflow raw``: decode DAQ files into raw-tier LH5."""

from __future__ import annotations

import argparse
import math
import os

from tierflow.cli._options import add_hdf5_option

__all__ = ["RawCommand"]


class RawCommand:
    help = "decode DAQ files (FlashCam FCIO, ORCA, CoMPASS, LlamaDAQ) into raw-tier LH5"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("inputs", nargs="+", metavar="IN", help="DAQ files")
        parser.add_argument(
            "--out-spec",
            default=None,
            help="output file, or an out_spec JSON/YAML (default: IN with .lh5)",
        )
        parser.add_argument(
            "--type", dest="stream_type", default=None, help="stream type (default: detected)"
        )
        parser.add_argument("--n-max", type=int, default=None, help="maximum rows to write")
        parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
        parser.add_argument("--compass-config", default=None, help="CoMPASS settings XML")
        add_hdf5_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.raw import build_raw

        for path in args.inputs:
            spec = args.out_spec
            if (
                spec is not None
                and len(args.inputs) > 1
                and not spec.endswith((".json", ".yaml", ".yml"))
            ):
                spec = os.path.join(spec, os.path.splitext(os.path.basename(path))[0] + ".lh5")
            kw = {"compass_config_file": args.compass_config} if args.compass_config else {}
            streamer = build_raw(
                path,
                args.stream_type,
                spec,
                n_max=args.n_max or math.inf,
                overwrite=args.overwrite,
                hdf5_settings=args.hdf5,
                file_key=os.path.splitext(os.path.basename(path))[0],
                **kw,
            )
            print(f"{path}: {streamer.n_bytes_read} bytes decoded")
        return 0
