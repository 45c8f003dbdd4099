"""``tierflow calib``: browse, fill and query a calibration-constants store."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CalibCommand"]


def _time(text: str) -> int:
    from tierflow.calib import parse_time

    return parse_time(text)


def _read_value(path: str) -> Any:
    """A payload from a file: .npy array, or a JSON/YAML mapping."""
    import numpy as np

    from tierflow.errors import ConfigError

    file = Path(path)
    if file.suffix == ".npy":
        return np.load(file, allow_pickle=False)
    if file.suffix == ".json":
        return json.loads(file.read_text())
    if file.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(file.read_text())
    raise ConfigError(f"cannot read constants from {path!r}: use .npy, .json or .yaml")


def _describe(value: Any) -> str:
    if hasattr(value, "dtype"):
        import numpy as np

        with np.printoptions(threshold=20, edgeitems=3):
            return f"array {value.dtype} {value.shape}\n{value}"
    from tierflow.calib._payload import thaw

    return json.dumps(thaw(value), indent=2, sort_keys=True)


def _ls(store: Any, args: argparse.Namespace) -> None:
    if args.detector is None:
        for det in store.detectors():
            ctypes = ", ".join(c.name for c in store.ctypes(det.name))
            print(f"{det.name}  type={det.type or '-'} id={det.id or '-'}  [{ctypes}]")
        return
    for ctype in store.ctypes(args.detector):
        print(f"{ctype.name}  axis={ctype.axis.value} overlap={ctype.overlap.value}")
        for interval in store.intervals(args.detector, ctype.name):
            cstate = store.state(args.detector).ctype(ctype.name)
            default = cstate.default_of(interval.id)
            flag = f"  INVALIDATED: {interval.invalidated}" if interval.invalidated else ""
            versions = len(cstate.versions[interval.id])
            print(f"  {interval}  versions={versions} in-force=v{default}{flag}")


def _show(store: Any, args: argparse.Namespace) -> None:
    det = store.state(args.detector).detector
    print(f"detector {det.name}: type={det.type!r} id={det.id!r} aliases={list(det.aliases)}")
    print(f"  predecessor={det.predecessor} successor={det.successor} tags={det.tags}")
    for ctype in store.ctypes(det.name):
        if args.ctype not in (None, ctype.name):
            continue
        for interval in store.intervals(det.name, ctype.name):
            print(
                f"{ctype.name} {interval}"
                + (f" invalidated: {interval.invalidated}" if interval.invalidated else "")
            )
            for v in store.versions(det.name, ctype.name, interval.id):
                bad = f" INVALIDATED: {v.invalidated}" if v.invalidated else ""
                print(f"  v{v.number} {v.hash[:16]} {v.kind.value} by {v.author}: {v.comment}{bad}")
    if args.history:
        for event in store.history(det.name):
            print(event)


def _add(store: Any, args: argparse.Namespace) -> None:
    value = _read_value(args.file)
    until = None if args.until is None else _time(args.until)
    with store.edit(args.author) as edit:
        if args.create is not None and args.detector not in store.detector_names():
            edit.add_detector(args.detector, args.create)
        if args.create is not None and args.ctype not in edit._working(args.detector).ctypes:
            edit.add_ctype(args.detector, args.ctype, overlap=args.overlap, axis=args.axis)
        source = edit.add(
            args.detector,
            args.ctype,
            value,
            _time(args.since),
            until,
            comment=args.comment,
            default=args.default,
        )
    print(f"added {source.label()}")


def _get(store: Any, args: argparse.Namespace) -> None:
    payload = store.get(
        args.detector, args.ctype, _time(args.at), version=args.version, tag=args.tag
    )
    src = payload.source
    print(f"# {src.label()} {src.interval} produced by {src.version.author}: {src.version.comment}")
    print(_describe(payload.value))


def _tag(store: Any, args: argparse.Namespace) -> None:
    if args.name is None:
        for name in store.tags.names():
            tag = store.tags.get(name)
            state = f"frozen ({len(tag.pins)} pins)" if tag.frozen else "live"
            print(f"{name}  {state}  {tag.description}")
        return
    if args.name not in store.tags.names():
        store.tags.create(args.name, args.description or "")
    if args.freeze:
        store.tags.freeze(args.name)
    tag = store.tags.get(args.name)
    print(f"{tag.name}: {'frozen' if tag.frozen else 'live'}, {len(tag.pins)} pins")


def _export(store: Any, args: argparse.Namespace) -> None:
    print(f"wrote {store.tags.export(args.tag, args.output)}")


def _import(store: Any, args: argparse.Namespace) -> None:
    from tierflow.calib import import_dcstore, import_legend_validity

    if Path(args.source).is_dir():
        if args.ctype is None:
            from tierflow.errors import ConfigError

            raise ConfigError("importing a LEGEND validity folder needs --ctype")
        counts = import_legend_validity(store, args.source, args.ctype, category=args.category)
        print(f"imported {sum(counts.values())} intervals for {len(counts)} detectors")
        return
    report = import_dcstore(store, args.source, detector=args.detector)
    print(f"imported {report.detector}: {report.intervals} intervals, {report.versions} versions")
    for note in report.notes:
        print(f"  repaired: {note}")


def _arguments(sub: Any) -> dict[str, Callable[[Any, argparse.Namespace], None]]:
    p = sub.add_parser("ls", help="list detectors, or the intervals of one detector")
    p.add_argument("detector", nargs="?")
    p = sub.add_parser("show", help="a detector's versions (and history)")
    p.add_argument("detector")
    p.add_argument("ctype", nargs="?")
    p.add_argument("--history", action="store_true")
    p = sub.add_parser("add", help="add constants from a .npy/.json/.yaml file")
    p.add_argument("detector")
    p.add_argument("ctype")
    p.add_argument("file")
    p.add_argument("--since", required=True, help="ns, run, 'YYYYmmddTHHMMSSZ' or '<sec>s'")
    p.add_argument("--until", default=None, help="exclusive end (default: open-ended)")
    p.add_argument("--comment", default="")
    p.add_argument("--author", default=None)
    p.add_argument("--default", action="store_true", help="make it the interval's default")
    p.add_argument(
        "--create",
        metavar="TYPE",
        default=None,
        help="create the detector (with this type) and calibration type if missing",
    )
    p.add_argument("--overlap", default="refuse", choices=["refuse", "latest-since"])
    p.add_argument("--axis", default="time", choices=["time", "run"])
    p = sub.add_parser("get", help="the constants in force at a time")
    p.add_argument("detector")
    p.add_argument("ctype")
    p.add_argument("--at", required=True)
    p.add_argument("--version", type=int, default=None)
    p.add_argument("--tag", default=None, help="a global tag")
    p = sub.add_parser("tag", help="list global tags, or create/freeze one")
    p.add_argument("name", nargs="?")
    p.add_argument("--description", default=None)
    p.add_argument("--freeze", action="store_true")
    p = sub.add_parser("export", help="write a global tag to one HDF5 file")
    p.add_argument("tag")
    p.add_argument("output")
    p = sub.add_parser("import", help="import a DCStore file or a LEGEND validity folder")
    p.add_argument("source")
    p.add_argument("--detector", default=None, help="name for a DCStore detector")
    p.add_argument("--ctype", default=None, help="calibration type of a LEGEND folder")
    p.add_argument("--category", default="all")
    return {
        "ls": _ls,
        "show": _show,
        "add": _add,
        "get": _get,
        "tag": _tag,
        "export": _export,
        "import": _import,
    }


class CalibCommand:
    help = "calibration-constants store: ls, show, add, get, tag, export, import"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("store", help="store directory (or exported .h5 file)")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        self._actions = _arguments(sub)

    def run(self, args: argparse.Namespace) -> int:
        from tierflow.calib import Store

        create = args.action in ("add", "import")
        store = Store(args.store, create=create)
        self._actions[args.action](store, args)
        return 0
