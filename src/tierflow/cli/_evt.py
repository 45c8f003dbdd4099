"""``tierflow tcm`` and ``tierflow evt``: the time-coincidence map and the event tier."""

from __future__ import annotations

import argparse

from tierflow.cli._options import add_hdf5_option

__all__ = ["EvtCommand", "TcmCommand"]


class TcmCommand:
    help = "build a time-coincidence map from the tables of raw (or other tier) files"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="input LH5 files")
        parser.add_argument("--out", required=True, help="output tcm file")
        parser.add_argument("--tables", default="ch*/raw", help="table glob (default ch*/raw)")
        parser.add_argument(
            "--coin-col",
            action="append",
            dest="coin_cols",
            default=None,
            help="coincidence column, repeatable (default timestamp)",
        )
        parser.add_argument(
            "--window",
            action="append",
            type=float,
            dest="windows",
            default=None,
            help="window per coincidence column (default 0)",
        )
        parser.add_argument("--window-ref", choices=["last", "first"], default="last")
        parser.add_argument("--out-name", default="hardware_tcm_1", help="output table name")
        parser.add_argument(
            "--out-field",
            action="append",
            dest="out_fields",
            default=None,
            help="input column copied into the map, repeatable",
        )
        parser.add_argument("--buffer-len", type=int, default=None, help="rows per table read")
        parser.add_argument("--overwrite", action="store_true", help="replace the output file")
        add_hdf5_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.evt import build_tcm
        from tierflow.lh5 import WriteMode

        build_tcm(
            [(f, args.tables) for f in args.files],
            args.coin_cols or ["timestamp"],
            coin_windows=args.windows or [0.0],
            window_refs=args.window_ref,
            out_file=args.out,
            out_name=args.out_name,
            wo_mode=WriteMode.OVERWRITE_FILE if args.overwrite else WriteMode.CREATE,
            buffer_len=args.buffer_len,
            out_fields=args.out_fields,
            hdf5_settings=args.hdf5,
        )
        print(args.out)
        return 0


class EvtCommand:
    help = "build the evt tier from tcm, dsp and hit files with an evt config (pygama's format)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", required=True, help="evt config (JSON or YAML)")
        parser.add_argument("--tcm", required=True, help="tcm file")
        parser.add_argument("--tcm-name", default="hardware_tcm_1", help="tcm table name")
        parser.add_argument("--dsp", default=None, help="dsp file")
        parser.add_argument("--hit", default=None, help="hit file")
        parser.add_argument("--table-fmt", default="ch{}", help="channel table format (ch{})")
        parser.add_argument("--out", required=True, help="output evt file")
        parser.add_argument("--out-name", default="evt", help="output table name")
        parser.add_argument("--buffer-len", type=int, default=10**4, help="events per chunk")
        parser.add_argument("--overwrite", action="store_true", help="replace the output file")
        add_hdf5_option(parser)
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes (default: one per idle core on large inputs; outputs are the same)",
        )

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.evt import build_evt
        from tierflow.lh5 import WriteMode

        datainfo: dict[str, tuple[str, ...]] = {"tcm": (args.tcm, args.tcm_name)}
        for tier in ("dsp", "hit"):
            if getattr(args, tier) is not None:
                datainfo[tier] = (getattr(args, tier), tier, args.table_fmt)
        datainfo["evt"] = (args.out, args.out_name)
        mode = WriteMode.OVERWRITE_FILE if args.overwrite else WriteMode.CREATE
        build_evt(
            datainfo,
            args.config,
            wo_mode=mode,
            buffer_len=args.buffer_len,
            n_workers=args.workers,
            hdf5_settings=args.hdf5,
        )
        print(args.out)
        return 0
