"""Tier steps: each wraps one ``build_<tier>(inputs, output, config, ...)`` of the tier packages.

A step declares the tiers it reads (``needs``; ``"daq"`` is the input files), whether it runs
per file or per run (:class:`Scope`), and the config keys it accepts; the tier packages are
imported only when a step runs.
"""

from __future__ import annotations

import abc
import enum
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tierflow.errors import ConfigError, NotFoundError
from tierflow.flow._config import CalibSettings, load_mapping
from tierflow.registry import Registry

__all__ = [
    "STEPS",
    "DAQ",
    "DspStep",
    "EvtStep",
    "HitStep",
    "PargenStep",
    "RawStep",
    "Scope",
    "Step",
    "StepContext",
    "TcmStep",
    "make_step",
]

DAQ = "daq"
"""The pseudo-tier of the input (DAQ) files."""


class Scope(enum.Enum):
    """What one task of a step covers."""

    FILE = "file"
    """One input file (raw, dsp, hit, tcm, evt)."""
    RUN = "run"
    """Every file of a run (all keys but the timestamp): calibrations."""


@dataclass(frozen=True)
class StepContext:
    """What a step needs besides its inputs and output: the file keys and the calib store."""

    keys: Mapping[str, str] = field(default_factory=dict)
    calib: CalibSettings = field(default_factory=CalibSettings)


class Step(abc.ABC):
    """A tier step: validated options, a ``run`` over inputs into one output.

    `config` is the step's part of the production config; file names in it are relative to
    `root` and are read at construction (so the config hash covers their content).
    """

    tag: ClassVar[str]
    needs: ClassVar[tuple[str, ...]]
    optional_needs: ClassVar[tuple[str, ...]] = ()
    scope: ClassVar[Scope] = Scope.FILE
    options: ClassVar[frozenset[str]] = frozenset()
    uses_calib: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any], root: Path) -> None:
        for key in config:
            if key not in self.options:
                raise NotFoundError(
                    f"unknown option {key!r} of the {self.tag} step",
                    obj=key,
                    candidates=self.options,
                )
        self.root = root
        self.config = self.resolve(dict(config))

    def resolve(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config with referenced files read (what the config hash covers)."""
        return config

    @abc.abstractmethod
    def run(self, inputs: Mapping[str, Sequence[Path]], output: Path, ctx: StepContext) -> Any:
        """Make `output` from `inputs` (tier → files); may return calibration provenance."""

    def _tables(self, key: str) -> dict[str, dict[str, Any]]:
        """``{table glob: config}`` of option `key`, each config loaded."""
        tables = self.config.get(key, {})
        if not isinstance(tables, Mapping) or not tables:
            raise ConfigError(f"the {self.tag} step needs {key!r}: {{table pattern: config}}")
        return {str(p): load_mapping(c, self.root, f"{self.tag}.{key}") for p, c in tables.items()}


def _match(names: Sequence[str], pattern: str) -> list[str]:
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


class RawStep(Step):
    """DAQ file → raw tier (:func:`tierflow.raw.build_raw`); ``{out_file}`` in the out_spec
    stands for the output."""

    tag = "raw"
    needs = (DAQ,)
    options = frozenset({"out_spec", "hdf5_settings", "buffer_size", "in_stream_type"})

    def run(self, inputs: Mapping[str, Sequence[Path]], output: Path, ctx: StepContext) -> Any:
        from tierflow.raw import build_raw

        spec = self.config.get("out_spec", "{out_file}")
        if isinstance(spec, str):
            spec = spec.format(out_file=output)
        build_raw(
            inputs[DAQ][0],
            in_stream_type=self.config.get("in_stream_type"),
            out_spec=spec,
            overwrite=True,
            hdf5_settings=self.config.get("hdf5_settings"),
            buffer_size=int(self.config.get("buffer_size", 8192)),
            out_file=str(output),
        )


class DspStep(Step):
    """raw → dsp (:func:`tierflow.dsp.build_dsp`), one processing chain per table pattern."""

    tag = "dsp"
    needs = ("raw",)
    options = frozenset({"tables", "database", "buffer_len"})

    def resolve(self, config: dict[str, Any]) -> dict[str, Any]:
        self.config = config
        config["tables"] = self._tables("tables")
        if "database" in config:
            config["database"] = load_mapping(config["database"], self.root, "dsp.database")
        return config

    def run(self, inputs: Mapping[str, Sequence[Path]], output: Path, ctx: StepContext) -> Any:
        from tierflow import lh5
        from tierflow.dsp import build_dsp, dsp_tables

        raw = inputs["raw"][0]
        names = dsp_tables(raw, None)
        done: set[str] = set()
        for pattern, chain in self.config["tables"].items():
            tables = [t for t in _match(names, pattern) if t not in done]
            done.update(tables)
            if not tables:
                continue
            result = build_dsp(
                raw, None, chain, lh5_tables=tables, database=self.config.get("database"),
                buffer_len=int(self.config.get("buffer_len", 3200)),
            )  # fmt: skip
            for name, table in (result or {}).items():
                lh5.write(table, name, output, mode=lh5.WriteMode.CREATE)


class PargenStep(Step):
    """dsp files of a run → HPGe energy scale per channel (:func:`tierflow.pargen.
    calibrate_energy`), written as a JSON document and stored in the calibration store."""

    tag = "pargen"
    needs = ("dsp",)
    scope = Scope.RUN
    options = frozenset({"field", "tables", "ctype", "lines", "deg"})

    def run(self, inputs: Mapping[str, Sequence[Path]], output: Path, ctx: StepContext) -> Any:
        import json

        from tierflow import lh5
        from tierflow.pargen import calibrate_energy

        files = [str(p) for p in inputs["dsp"]]
        field_name = self.config.get("field", "trapEmax")
        tables = _match(lh5.ls(files[0], "*/dsp"), self.config.get("tables", "*/dsp"))
        results, spans = {}, {}
        for table in tables:
            data = lh5.read(table, files, fields=[field_name, "timestamp"])
            result = calibrate_energy(
                data[field_name].nda, field_name, self.config.get("lines", "th228"),
                deg=int(self.config.get("deg", 0)),
            )  # fmt: skip
            channel = table.split("/")[0]
            results[channel] = result.to_dict()
            ts = data["timestamp"].nda
            spans[channel] = (int(ts.min() * 1e9), int(ts.max() * 1e9) + 1)
        output.write_text(json.dumps({"channels": results}, default=float))
        if ctx.calib.store is not None:
            return _store_constants(
                ctx.calib, self.config.get("ctype", "energy_cal"), results, spans
            )
        return None


def _store_constants(
    settings: CalibSettings,
    ctype: str,
    results: Mapping[str, Mapping[str, Any]],
    spans: Mapping[str, tuple[int, int]],
) -> dict[str, str]:
    """Each channel's hit parameters ``{field: {expression, parameters}}`` into the store, valid
    over the run's time span; a later calibration of the same run (more files) takes over."""
    from tierflow import calib

    assert settings.store is not None
    store = calib.Store(settings.store, create=not settings.store.exists())
    versions = []
    with store.edit(author="tierflow-flow") as edit:
        for channel, result in results.items():
            if channel not in store.detector_names():
                edit.add_detector(channel)
                edit.add_ctype(channel, ctype, overlap=calib.Overlap.LATEST_SINCE)
            elif ctype not in {c.name for c in store.ctypes(channel)}:
                edit.add_ctype(channel, ctype, overlap=calib.Overlap.LATEST_SINCE)
            since, until = spans[channel]
            source = edit.add(
                channel, ctype, {result["field"]: result["hit"]}, since, until,
                skip_identical=True,
            )  # fmt: skip
            versions.append(source.label())
    return {"store": str(settings.store), "versions": ",".join(sorted(versions))}


class HitStep(Step):
    """dsp → hit (:func:`tierflow.hit.build_hit`), one config per table pattern; parameters
    ``{"calib": ctype, "key": ...}`` come from the calibration store."""

    tag = "hit"
    needs = ("dsp",)
    optional_needs = ("pargen",)
    options = frozenset({"tables", "buffer_len"})
    uses_calib = True

    def resolve(self, config: dict[str, Any]) -> dict[str, Any]:
        self.config = config
        config["tables"] = self._tables("tables")
        return config

    def run(self, inputs: Mapping[str, Sequence[Path]], output: Path, ctx: StepContext) -> Any:
        from tierflow import lh5
        from tierflow.hit import build_hit

        dsp = inputs["dsp"][0]
        names = lh5.ls(dsp, "*/dsp")
        per_table: dict[str, Any] = {}
        for pattern, cfg in self.config["tables"].items():
            for name in _match(names, pattern) + _match(names, pattern + "/dsp"):
                per_table.setdefault(name, cfg)
        source = None
        if ctx.calib.store is not None and ctx.calib.store.exists():
            from tierflow import calib

            store = calib.Store(ctx.calib.store)
            source = store.parameter_source(ctx.calib.global_tag)
        build_hit(dsp, output, lh5_tables_config=per_table, parameter_source=source,
                  wo_mode="overwrite_file")  # fmt: skip
        return None if source is None else source.provenance()


class TcmStep(Step):
    """raw → time-coincidence map (:func:`tierflow.evt.build_tcm`)."""

    tag = "tcm"
    needs = ("raw",)
    options = frozenset({"tables", "coin_cols", "coin_windows", "window_refs", "out_name"})

    def run(self, inputs: Mapping[str, Sequence[Path]], output: Path, ctx: StepContext) -> Any:
        from tierflow.evt import build_tcm

        build_tcm(
            [(inputs["raw"][0], self.config.get("tables", "ch*/raw"))],
            self.config.get("coin_cols", "timestamp"),
            coin_windows=self.config.get("coin_windows", 0),
            window_refs=self.config.get("window_refs", "last"),
            out_file=output,
            out_name=self.config.get("out_name", "hardware_tcm_1"),
        )


class EvtStep(Step):
    """tcm + hit (+ dsp) → events (:func:`tierflow.evt.build_evt`) with an evt config."""

    tag = "evt"
    needs = ("tcm", "hit")
    optional_needs = ("dsp",)
    options = frozenset({"config", "tcm_name", "table_format"})

    def resolve(self, config: dict[str, Any]) -> dict[str, Any]:
        if "config" not in config:
            raise ConfigError("the evt step needs 'config' (an evt config or its file)")
        config["config"] = load_mapping(config["config"], self.root, "evt.config")
        return config

    def run(self, inputs: Mapping[str, Sequence[Path]], output: Path, ctx: StepContext) -> Any:
        from tierflow.evt import build_evt

        fmt = self.config.get("table_format", "ch{}")
        info: dict[str, Any] = {
            "tcm": (inputs["tcm"][0], self.config.get("tcm_name", "hardware_tcm_1")),
            "hit": (inputs["hit"][0], "hit", fmt),
            "evt": (output, "evt"),
        }
        if inputs.get("dsp"):
            info["dsp"] = (inputs["dsp"][0], "dsp", fmt)
        build_evt(info, self.config["config"])


STEPS: Registry[type[Step]] = Registry("tier step", entry_point_group="tierflow.steps")
"""Tier name → :class:`Step` class; third parties add steps through entry points."""
for _step in (RawStep, DspStep, PargenStep, HitStep, TcmStep, EvtStep):
    STEPS.add(_step.tag, _step)


def make_step(tier: str, config: Mapping[str, Any], root: Path) -> Step:
    """The registered step of `tier`, configured.

    Example
    -------
    >>> make_step("tcm", {"coin_windows": 1e-6}, Path(".")).scope
    <Scope.FILE: 'file'>
    """
    return STEPS[tier](config, root)
