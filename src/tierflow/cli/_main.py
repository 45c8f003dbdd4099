"""Argument parsing and dispatch for the ``tierflow`` command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from tierflow.errors import TierflowError
from tierflow.registry import Registry
from tierflow.shutdown import skip_final_collections

__all__ = ["COMMANDS", "Command", "main"]


class Command(Protocol):
    """A subcommand: a help line, its arguments, and what it runs."""

    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: Registry[str] = Registry("tierflow subcommand", entry_point_group="tierflow.commands")
"""Subcommand name → module path; modules are imported only when their command runs."""
COMMANDS.add("ls", "tierflow.cli._inspect:LsCommand")
COMMANDS.add("show", "tierflow.cli._inspect:ShowCommand")
COMMANDS.add("calib", "tierflow.cli._calib:CalibCommand")
COMMANDS.add("raw", "tierflow.cli._raw:RawCommand")
COMMANDS.add("showers", "tierflow.cli._showers:ShowersCommand")
COMMANDS.add("calibrate", "tierflow.cli._calibrate:CalibrateCommand")
COMMANDS.add("hit", "tierflow.cli._hit:HitCommand")
COMMANDS.add("sky", "tierflow.cli._sky:SkyCommand")
COMMANDS.add("tcm", "tierflow.cli._evt:TcmCommand")
COMMANDS.add("evt", "tierflow.cli._evt:EvtCommand")
COMMANDS.add("dsp", "tierflow.cli._dsp:DspCommand")
COMMANDS.add("run", "tierflow.cli._run:RunCommand")
COMMANDS.add("demo", "tierflow.cli._demo:DemoCommand")


def _load(spec: str) -> Command:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)()  # type: ignore[no-any-return]


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(
        prog="tierflow", description="Detector data through its tiers, in LH5."
    )
    from tierflow import __version__

    parser.add_argument("--version", action="version", version=f"tierflow {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {}
    for name in COMMANDS:
        command = _load(COMMANDS[name])
        command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))
        commands[name] = command
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tierflow`` command line; returns the exit status."""
    skip_final_collections()
    parser, commands = _parser()
    args = parser.parse_args(argv)
    try:
        return commands[args.command].run(args)
    except TierflowError as error:
        print(f"tierflow {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head and the like
        return 0


if __name__ == "__main__":
    sys.exit(main())
