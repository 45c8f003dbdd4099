"""``tierflow calibrate energy|aoe|lq``: HPGe energy, A/E or LQ calibration of a dsp file, to
JSON/YAML and optionally into a calibration store (``--store PATH --detector NAME``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tierflow.files import staged_path

__all__ = ["CalibrateCommand", "write_pars"]


def write_pars(pars: dict[str, Any], path: str) -> None:
    """Write `pars` as JSON (``.json``) or YAML (``.yaml``/``.yml``), atomically."""
    target = Path(path)
    if target.suffix in (".yaml", ".yml"):
        import yaml

        plain = json.loads(json.dumps(pars, default=float))  # numpy scalars → Python
        text = yaml.safe_dump(plain, sort_keys=False)
    else:
        text = json.dumps(pars, indent=1, default=float)
    with staged_path(target) as temp:
        temp.write_text(text)


def _table_name(file: str, table: str | None, field: str) -> str:
    from tierflow import lh5
    from tierflow.errors import ConfigError

    if table:
        return table
    tables = lh5.ls(file, "*/dsp")
    if len(tables) != 1:
        raise ConfigError(
            f"{len(tables)} dsp tables in the file: choose one with --table ({tables[:5]})",
            file=file,
        )
    return str(tables[0])


class CalibrateCommand:
    help = "calibration parameters from a dsp file (energy scale and resolution, or A/E)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS), help="what to calibrate")
        parser.add_argument("file", help="the dsp-tier LH5 file")
        parser.add_argument("--field", default="cuspEmax", help="uncalibrated energy field")
        parser.add_argument(
            "--table", default=None, help="table, e.g. ch1104000/dsp (default: the only one)"
        )
        parser.add_argument("--lines", default="th228", help="line set (default th228)")
        parser.add_argument("--deg", type=int, default=0, help="calibration polynomial degree")
        parser.add_argument("--plot", default=None, metavar="DIR", help="save PNG plots here")
        parser.add_argument("--out", default=None, help="write parameters to this .json/.yaml")
        parser.add_argument(
            "--current", default="A_max", help="A/E: the current amplitude field (default A_max)"
        )
        parser.add_argument("--lq", default="lq80", help="LQ: the late-charge field (default lq80)")
        parser.add_argument("--dt", default="dt_eff", help="LQ: the drift-time field")
        parser.add_argument("--store", default=None, metavar="PATH", help="calibration store")
        parser.add_argument("--detector", default=None, help="detector name in the store")
        parser.add_argument(
            "--since",
            default=None,
            help="start of validity in the store (default: the first event's timestamp)",
        )

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.errors import ConfigError

        if (args.store is None) != (args.detector is None):
            raise ConfigError("--store and --detector go together")
        return KINDS[args.kind](args)


def _to_store(args: argparse.Namespace, table: str, record: dict[str, Any]) -> None:
    """Store `record` as calibration type ``pargen_<kind>`` if ``--store`` was given."""
    if args.store is None:
        return
    from tierflow import lh5
    from tierflow.pargen import store_record

    since = args.since
    if since is None:
        stamps = lh5.read(f"{table}/timestamp", args.file, n_rows=1).nda
        since = int(float(stamps[0]) * 1e9)
    source = store_record(args.store, args.detector, f"pargen_{args.kind}", record, since=since)
    print(f"stored {source.label()}")


def _run_energy(args: argparse.Namespace) -> int:
    from tierflow import lh5
    from tierflow.pargen import calibrate_energy

    table = _table_name(args.file, args.table, args.field)
    energy = lh5.read(f"{table}/{args.field}", args.file).nda
    result = calibrate_energy(energy, args.field, args.lines, deg=args.deg)
    _to_store(args, table, result.to_dict())
    if args.out:
        write_pars(result.to_dict(), args.out)
    else:
        print(json.dumps(result.hit, indent=1))
    for name, curve in result.resolution.items():
        _e, fwhm, err = curve.at.get("Qbb", (float("nan"),) * 3)
        print(f"FWHM at Qbb ({name}): {fwhm:.3f} +- {err:.3f} keV")
    if args.plot:
        from tierflow.pargen.plots import save_energy_plots

        save_energy_plots(energy, result, args.plot)
    return 0


def _run_aoe(args: argparse.Namespace) -> int:
    """Energy calibration first (scale and linear resolution), then A/E = current / energy."""
    import numpy as np

    from tierflow import lh5
    from tierflow.math import poly
    from tierflow.pargen import calibrate_aoe, calibrate_energy

    table = _table_name(args.file, args.table, args.field)
    data = lh5.read(table, args.file, fields=[args.field, args.current])
    energy = data[args.field].nda.astype(np.float64)
    current = data[args.current].nda.astype(np.float64)
    ecal = calibrate_energy(energy, args.field, args.lines, deg=args.deg)
    calibrated = poly(energy, np.asarray(ecal.pars))
    curve = ecal.resolution["linear"]

    def eres(e: float) -> float:
        return float((curve.fit.values[0] + curve.fit.values[1] * e) ** 0.5)

    with np.errstate(divide="ignore", invalid="ignore"):
        aoe = current / energy
    result = calibrate_aoe(aoe, calibrated, eres, energy_field=f"{args.field}_cal")
    record = {"energy": ecal.to_dict(), "aoe": result.to_dict()}
    _to_store(args, table, record)
    if args.out:
        write_pars(record, args.out)
    else:
        print(json.dumps(result.hit_pars(), indent=1, default=float))
    print(f"A/E low cut: {result.low_cut.value:.3f}, high cut: {result.high_cut:g}")
    for p in result.survival:
        print(
            f"  {p.peak_kev:8.2f} keV  low-side {p.low_side.sf:6.2f} +- {p.low_side.sf_err:.2f} %"
            f"  two-sided {p.two_sided.sf:6.2f} +- {p.two_sided.sf_err:.2f} %"
        )
    if args.plot:
        from tierflow.pargen.plots import save_aoe_plots

        save_aoe_plots(result, args.plot)
    return 0


def _energy_and_resolution(args: argparse.Namespace, energy: Any) -> tuple[Any, Any, Any]:
    """Energy calibration: (result, calibrated energies, linear FWHM function)."""
    import numpy as np

    from tierflow.math import poly
    from tierflow.pargen import calibrate_energy

    ecal = calibrate_energy(energy, args.field, args.lines, deg=args.deg)
    a, b = ecal.resolution["linear"].fit.values[:2]

    def eres(e: float) -> float:
        return float((a + b * e) ** 0.5)

    return ecal, poly(energy, np.asarray(ecal.pars)), eres


def _run_lq(args: argparse.Namespace) -> int:
    """Energy calibration first, then LQ = late charge / calibrated energy."""
    import numpy as np

    from tierflow import lh5
    from tierflow.pargen import calibrate_lq

    table = _table_name(args.file, args.table, args.field)
    data = lh5.read(table, args.file, fields=[args.field, args.lq, args.dt])
    energy = data[args.field].nda.astype(np.float64)
    ecal, calibrated, eres = _energy_and_resolution(args, energy)
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = data[args.lq].nda.astype(np.float64) / calibrated
    result = calibrate_lq(lq, calibrated, data[args.dt].nda, eres, dt_field=args.dt)
    record = {"energy": ecal.to_dict(), "lq": result.to_dict()}
    record["lq"]["hit"] = {
        "LQ_Ecorr": {"expression": f"{args.lq}/{args.field}_cal", "parameters": {}}
    } | record["lq"]["hit"]
    _to_store(args, table, record)
    if args.out:
        write_pars(record, args.out)
    else:
        print(json.dumps(record["lq"]["hit"], indent=1, default=float))
    for s in result.survival:
        print(f"  {s.peak_kev:8.2f} keV  LQ cut survival {s.sf.sf:6.2f} +- {s.sf.sf_err:.2f} %")
    return 0


KINDS = {"energy": _run_energy, "aoe": _run_aoe, "lq": _run_lq}
