"""``tierflow sky``: DL3 → DL4 sky maps (``reduce CONFIG.yaml``, ``significance DATASET``,
``spectrum CONFIG.yaml``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SkyCommand"]


def _reduce(args: argparse.Namespace) -> int:
    import dataclasses

    from tierflow import sky

    cfg = sky.read_config(args.config)
    changes: dict[str, Any] = {}
    if args.processes is not None:
        changes["n_processes"] = args.processes
    output = cfg.output
    if args.output is not None:
        output = dataclasses.replace(output, dir=str(Path(args.output).resolve()))
    if args.overwrite:
        output = dataclasses.replace(output, overwrite=True)
    if args.no_png:
        output = dataclasses.replace(output, png=False)
    cfg = dataclasses.replace(cfg, output=output, **changes)
    result = sky.reduce_observations(cfg, progress=not args.quiet)
    files = sky.write_reduction(result, cfg)
    for run in result.runs:
        norm = run.get("fov_norm")
        shown = "" if norm is None else f"  fov_norm {norm:.6f}"
        print(f"obs {run['obs_id']}: counts {run.get('counts', 0):.0f}{shown}")
    for kind, maps in result.excess_maps(cfg.excess.correlation_radius).items():
        _print_peak(kind, maps, result.geom)
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0


def _print_peak(kind: str, maps: dict[str, Any], geom: Any) -> None:
    import numpy as np

    sqrt_ts = maps["sqrt_ts"]
    if not np.isfinite(sqrt_ts).any():
        print(f"{kind}: no safe pixel")
        return
    iy, ix = np.unravel_index(int(np.nanargmax(sqrt_ts)), sqrt_ts.shape)
    lon, lat = geom.lonlat
    print(
        f"{kind}: max sqrt_ts {sqrt_ts[iy, ix]:.3f} at ({lon[iy, ix]:.4f}, {lat[iy, ix]:.4f})"
        f" pixel (y={iy}, x={ix}), excess {maps['npred_excess'][iy, ix]:.2f}"
    )


def _significance(args: argparse.Namespace) -> int:
    from tierflow import sky

    maps, geom = sky.make_excess_maps_from_file(args.dataset, args.radius)
    _print_peak("dataset", maps, geom)
    if args.at is not None:
        iy, ix = geom.coord_to_idx([args.at[0]], [args.at[1]])
        if iy[0] < 0 or ix[0] < 0:
            print(f"({args.at[0]}, {args.at[1]}) lies outside the map")
        else:
            values = ", ".join(f"{k} {v[iy[0], ix[0]]:.4f}" for k, v in maps.items())
            print(f"at ({args.at[0]}, {args.at[1]}): {values}")
    if args.output is not None:
        path = sky.write_maps(maps, geom, args.output, overwrite=args.overwrite)
        print(f"maps: {path}")
    if args.png is not None:
        for path in sky.save_pngs(maps, geom, args.png):
            print(f"png: {path}")
    return 0


def _spectrum(args: argparse.Namespace) -> int:
    from tierflow import sky

    cfg = sky.read_config(args.config)
    out_dir = Path(args.output).resolve() if args.output is not None else Path(cfg.output.dir)
    datasets, stacked = sky.reduce_spectra(cfg, progress=not args.quiet)
    overwrite = args.overwrite or cfg.output.overwrite
    for ds in datasets:
        info = ds.info()
        print(
            f"obs {ds.meta['obs_id']}: n_on {info['counts']:.0f}  n_off {info['counts_off']:.0f}"
            f"  alpha {info['alpha']:.6g}  off regions {len(ds.off_regions)}"
        )
        if args.per_obs:
            sky.write_ogip(ds, out_dir / f"{ds.name}.fits", overwrite=overwrite)
    info = stacked.info()
    print(
        f"stacked: n_on {info['counts']:.0f}  n_off {info['counts_off']:.0f}"
        f"  alpha {info['alpha']:.6g}"
        f"  excess {info['excess']:.4f}  sqrt_ts {info['sqrt_ts']:.4f}"
    )
    for kind, path in sky.write_ogip(
        stacked, out_dir / f"{stacked.name}.fits", overwrite=overwrite
    ).items():
        print(f"{kind}: {path}")
    return 0


def _arguments(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    p = sub.add_parser("reduce", help="reduce DL3 observations to stacked maps (YAML config)")
    p.add_argument("config", help="the YAML configuration")
    p.add_argument("-j", "--processes", type=int, default=None, help="worker processes")
    p.add_argument("-o", "--output", default=None, help="output folder (overrides the config)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--no-png", action="store_true", help="no PNG images")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p = sub.add_parser("significance", help="excess and Li & Ma significance maps of a dataset")
    p.add_argument("dataset", help="a MapDataset or MapDatasetOnOff FITS file (gammapy layout)")
    p.add_argument("-r", "--radius", type=float, default=0.1, help="correlation radius (deg)")
    p.add_argument("--at", type=float, nargs=2, metavar=("LON", "LAT"), help="print values here")
    p.add_argument("-o", "--output", default=None, help="write the maps to this FITS file")
    p.add_argument("--png", default=None, help="write PNG images into this folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p = sub.add_parser("spectrum", help="1-D reflected-regions spectrum (YAML config, OGIP output)")
    p.add_argument("config", help="the YAML configuration, with a 'spectrum' section")
    p.add_argument("-o", "--output", default=None, help="output folder (overrides the config)")
    p.add_argument("--per-obs", action="store_true", help="also write each observation's spectrum")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return {"reduce": _reduce, "significance": _significance, "spectrum": _spectrum}


class SkyCommand:
    help = "sky maps from DL3 (gamma-ray low-level analysis): reduce, significance, spectrum"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        self._actions = _arguments(sub)

    def run(self, args: argparse.Namespace) -> int:
        return self._actions[args.action](args)
