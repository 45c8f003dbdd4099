"""``tierflow ls`` and ``tierflow show``: what an LH5 file holds."""

from __future__ import annotations

import argparse

__all__ = ["LsCommand", "ShowCommand"]


class LsCommand:
    help = "list the objects of an LH5 file (glob patterns per level, e.g. 'ch*/raw')"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", help="the LH5 file")
        parser.add_argument(
            "pattern", nargs="?", default="*", help="glob pattern (default: top level)"
        )

    def run(self, args: argparse.Namespace) -> int:
        from tierflow import lh5

        for path in lh5.ls(args.file, args.pattern):
            print(path)
        return 0


class ShowCommand:
    help = "show the objects of an LH5 file as a tree with types, shapes, units and filters"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", help="the LH5 file")
        parser.add_argument(
            "object", nargs="?", default="/", help="object to start from (default: /)"
        )
        parser.add_argument("--attrs", action="store_true", help="also show every attribute")
        parser.add_argument("--depth", type=int, default=None, help="levels to descend")

    def run(self, args: argparse.Namespace) -> int:
        from tierflow import lh5

        print(lh5.show(args.file, args.object, attrs=args.attrs, depth=args.depth))
        return 0
