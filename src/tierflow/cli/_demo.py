"""``tierflow demo``: simulate a Th-228 calibration run and take it through every tier."""

from __future__ import annotations

import argparse

__all__ = ["DemoCommand"]


class DemoCommand:
    help = (
        "simulate a Th-228 calibration run (HPGe + SiPM FCIO files), run raw, dsp, energy "
        "calibration, hit, tcm and evt through the pipeline, plot the spectrum, report"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "directory", nargs="?", default="tierflow-demo",
            help="where everything goes (default: ./tierflow-demo)",
        )  # fmt: skip
        parser.add_argument("--files", type=int, default=6, help="DAQ files (default 6)")
        parser.add_argument(
            "--events", type=int, default=5000, help="triggers per file (default 5000)"
        )
        parser.add_argument(
            "--executor", choices=["inprocess", "processes", "dask"], default="processes",
            help="where tasks run (default: local processes)",
        )  # fmt: skip
        parser.add_argument("-j", "--workers", type=int, default=None, help="default: all cores")
        parser.add_argument("--no-plot", action="store_true", help="skip the spectrum PNG")

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.flow.demo import run_demo

        result = run_demo(
            args.directory, n_files=args.files, n_events=args.events,
            executor=args.executor, workers=args.workers, plot=not args.no_plot,
        )  # fmt: skip
        assert result.summary is not None
        print(result.summary.read_text())
        print(f"outputs in {result.directory}/")
        return 0 if result.report.ok else 1
