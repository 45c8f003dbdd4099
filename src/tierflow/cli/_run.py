"""``tierflow run``: a production config through its tiers, locally or on Dask."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["RunCommand"]


class RunCommand:
    help = (
        "run a production (YAML/JSON config) through its tiers: skips up-to-date outputs, "
        "reports failing files, re-runs only what is missing"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("config", help="the production config (YAML or JSON)")
        parser.add_argument(
            "--executor", choices=["inprocess", "processes", "dask"], default="processes",
            help="where tasks run (default: local processes)",
        )  # fmt: skip
        parser.add_argument(
            "-j", "--workers", type=int, default=None, help="workers (default: all cores)"
        )
        parser.add_argument(
            "--scheduler", metavar="ADDRESS", default=None,
            help="a Dask scheduler address (implies --executor dask)",
        )  # fmt: skip
        parser.add_argument(
            "--tier", action="append", dest="tiers", default=None,
            help="run only this tier (repeatable); default: every tier of the config",
        )  # fmt: skip
        parser.add_argument("--force", action="store_true", help="re-run up-to-date outputs too")
        parser.add_argument(
            "--dry-run", action="store_true", help="list the tasks that would run, run nothing"
        )
        parser.add_argument("--no-progress", action="store_true", help="plain logs, no bar")

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.flow import make_executor, make_plan, run_plan

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        plan = make_plan(args.config, tiers=args.tiers, force=args.force)
        if args.dry_run:
            for task in plan.pending():
                print(f"{task.id} -> {task.output}")
            print(f"{len(plan.pending())} of {len(plan)} tasks to run")
            return 0
        kind = "dask" if args.scheduler else args.executor
        progress = False if args.no_progress else None
        with make_executor(kind, args.workers, address=args.scheduler) as executor:
            report = run_plan(plan, executor, progress=progress)
        print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
        return 0 if report.ok else 1
