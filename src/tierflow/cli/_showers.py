"""``tierflow showers ...``: inspect, convert and process shower files of either layout.

Example
-------
::

    tierflow showers info showers.h5
    tierflow showers convert showers.h5 showers.lh5
    tierflow showers cluster showers.lh5 clustered.lh5 --geometry ILD --processes 2
    tierflow showers shuffle a.h5 b.h5 mixed.lh5 --seed 1
"""

from __future__ import annotations

import argparse
import functools
from typing import Any

__all__ = ["SUBCOMMANDS", "ShowersCommand"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="input shower file (showerdata's or tierflow's layout)")
    parser.add_argument("output", help="output file (.lh5: tierflow's layout)")
    parser.add_argument("--layout", choices=["showerdata", "lh5"], default=None)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--overwrite", action="store_true", help="replace the output file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_transform(args: argparse.Namespace, function: Any, attrs: dict[str, Any]) -> int:
    from tierflow.showers import transform_file

    transform_file(
        args.input,
        args.output,
        function,
        layout=args.layout,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        progress=None if not args.no_progress else False,
        file_attrs=attrs,
    )
    return 0


class InfoCommand:
    help = "layout, shape, metadata and targets of a shower file"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", help="the shower file")

    def run(self, args: argparse.Namespace) -> int:
        from tierflow import showers
        from tierflow.showers._api import open_store
        from tierflow.showers._convert import target_keys
        from tierflow.showers._lh5format import LH5Store
        from tierflow.showers._packing import ColumnStorage

        with open_store(args.file) as store:
            n, width, features = store.shape
            print(f"{args.file}: {store.layout.value} layout")
            print(f"  showers: {n}, max points: {width}, features: {features}")
            print(f"  targets: {', '.join(target_keys(store)) or '-'}")
            if isinstance(store, LH5Store):
                print("  hits columns:")
                for column, narrow in zip(store.columns, store.narrows, strict=True):
                    storage = ColumnStorage.of(column, None if narrow is None else narrow.divisor)
                    print(f"    {storage.line()}")
        for key, value in showers.load_metadata(args.file).items():
            print(f"  {key}: {value}")
        return 0


class ConvertCommand:
    help = "copy a shower file into the other layout (targets and metadata included)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _common(parser)

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.showers import convert

        convert(
            args.input,
            args.output,
            args.layout,
            overwrite=args.overwrite,
            batch_size=args.batch_size,
            progress=None if not args.no_progress else False,
        )
        return 0


class ClusterCommand:
    help = "sum hits into the cells of a detector grid"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _common(parser)
        parser.add_argument("--geometry", default="ILD", help="registered geometry (ILD)")
        parser.add_argument("--no-random-shift", action="store_true")
        parser.add_argument("--seed", type=int, default=None, help="seed of the grid shifts")
        parser.add_argument("--processes", type=int, default=1, help="cores to use")

    def run(self, args: argparse.Namespace) -> int:
        import numpy as np

        from tierflow.showers import cluster, make_geometry

        geometry = make_geometry(args.geometry)
        rng = np.random.default_rng(args.seed)
        function = functools.partial(
            cluster,
            random_shift=not args.no_random_shift,
            detector_config=geometry,
            processes=args.processes,
            rng=rng,
        )
        attrs = {"clustered_for": geometry.name, "detector_geometry": geometry.to_json()}
        return _run_transform(args, function, attrs)


class FilterCommand:
    help = "keep hits inside a radius and above the ECAL/HCAL thresholds"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _common(parser)
        parser.add_argument("-r", "--radius", type=float, default=float("inf"), help="mm")
        parser.add_argument("--ecal-threshold", type=float, default=0.0, help="MeV")
        parser.add_argument("--hcal-threshold", type=float, default=0.0, help="MeV")
        parser.add_argument(
            "-d",
            "--use-detector-thresholds",
            action="store_true",
            help="thresholds of the geometry the file was clustered for",
        )

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.showers import filter_showers, load_metadata, make_geometry

        ecal, hcal, layers = args.ecal_threshold / 1e3, args.hcal_threshold / 1e3, 30
        if args.use_detector_thresholds:
            name = load_metadata(args.input).get("clustered_for", "ILD_unclustered")
            geometry = make_geometry(str(name))
            ecal, hcal = geometry.ecal_threshold / 1e3, geometry.hcal_threshold / 1e3
            layers = geometry.num_layers_ecal
        function = functools.partial(
            filter_showers,
            radius=args.radius,
            ecal_threshold=ecal,
            hcal_threshold=hcal,
            num_layers_ecal=layers,
        )
        return _run_transform(args, function, {})


class ShiftCommand:
    help = "shift layers along the incident direction (undo incident angles)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _common(parser)
        parser.add_argument("-i", "--inverse", action="store_true", help="redo the shift")
        parser.add_argument("--geometry", default="ILD")

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.showers import shift_showers

        function = functools.partial(
            shift_showers, inverse=args.inverse, detector_config=args.geometry
        )
        return _run_transform(args, function, {})


class ShuffleCommand:
    help = "shuffle the showers of many files into one (bounded memory)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", help="input files, then the output file")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--overwrite", action="store_true")
        parser.add_argument("--overwrite-ids", action="store_true", help="ids 0..n-1")
        parser.add_argument("--test", type=int, default=None, help="at most N per input")
        parser.add_argument("--layout", choices=["showerdata", "lh5"], default=None)
        parser.add_argument("--no-progress", action="store_true")

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.showers import shuffle_files

        if len(args.files) < 2:
            raise SystemExit("tierflow showers shuffle: give input files and an output file")
        n = shuffle_files(
            args.files[:-1],
            args.files[-1],
            seed=args.seed,
            batch_size=args.batch_size,
            overwrite=args.overwrite,
            overwrite_ids=args.overwrite_ids,
            max_per_file=args.test,
            layout=args.layout,
            progress=None if not args.no_progress else False,
        )
        print(f"{n} showers shuffled into {args.files[-1]}")
        return 0


class ObservablesCommand:
    help = "compute observables and store them in the file's 'observables' group"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file")
        parser.add_argument("-b", "--batch-size", type=int, default=4096)
        parser.add_argument("--geometry", default=None, help="default: from the file")
        parser.add_argument("--overwrite", action="store_true")

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.showers import observables

        observables.add_observables_to_file(
            args.file, args.batch_size, args.overwrite, args.geometry
        )
        return 0


SUBCOMMANDS: dict[str, type] = {
    "info": InfoCommand,
    "convert": ConvertCommand,
    "cluster": ClusterCommand,
    "filter": FilterCommand,
    "shift": ShiftCommand,
    "shuffle": ShuffleCommand,
    "observables": ObservablesCommand,
}
"""``tierflow showers`` subcommand name → class."""


class ShowersCommand:
    help = "calorimeter shower files: info, convert, cluster, filter, shift, shuffle, observables"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="showers_command", required=True, metavar="ACTION")
        for name, kind in SUBCOMMANDS.items():
            command = kind()
            command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))

    def run(self, args: argparse.Namespace) -> int:
        return int(SUBCOMMANDS[args.showers_command]().run(args))
