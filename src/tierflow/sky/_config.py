"""The typed configuration of ``tierflow sky reduce``: sections that reject unknown keys.

Every section is a frozen dataclass; :func:`parse_config` builds them from a plain mapping
(a YAML file), checking each key and value and suggesting the closest key for a typo. The
configuration is never mutated; :meth:`ReduceConfig.to_dict` gives it back as plain data.

Example
-------
>>> cfg = parse_config({"data": {"dir": "dl3", "obs_ids": [1]},
...                     "geom": {"skydir": [83.633, 22.014], "width": 5}})
>>> cfg.geom.binsz, cfg.safe_mask.methods
(0.02, ('offset-max', 'aeff-max'))
>>> parse_config({"data": {"dir": "dl3"}, "geom": {"skydir": [0, 0], "binsize": 0.1}})
Traceback (most recent call last):
...
tierflow.errors.ConfigError: unknown key 'binsize' in 'geom'; did you mean 'binsz'? ...
"""

from __future__ import annotations

import dataclasses
import enum
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tierflow.errors import ConfigError, closest

__all__ = [
    "BackgroundConfig",
    "ConeConfig",
    "DataConfig",
    "DatasetConfig",
    "EnergyAxisConfig",
    "ExcessConfig",
    "ExclusionConfig",
    "FoVConfig",
    "GeomConfig",
    "OutputConfig",
    "ReduceConfig",
    "RingConfig",
    "SafeMaskConfig",
    "SpectrumConfig",
    "parse_config",
    "read_config",
]

FORMAT_VERSION = 1
S = TypeVar("S")


@dataclass(frozen=True)
class ConeConfig:
    """Observations pointed within `radius` deg of (`lon`, `lat`) (ICRS)."""

    lon: float
    lat: float
    radius: float = 2.5


@dataclass(frozen=True)
class DataConfig:
    """Where the DL3 data are and which observations to reduce (ids, or a cone, or all)."""

    dir: str
    obs_ids: tuple[int, ...] = ()
    cone: ConeConfig | None = None


@dataclass(frozen=True)
class EnergyAxisConfig:
    """A log energy axis in TeV."""

    min: float
    max: float
    nbin: int


@dataclass(frozen=True)
class GeomConfig:
    """The mosaic geometry (gammapy ``WcsGeom.create``) and its energy axes."""

    skydir: tuple[float, float]
    width: tuple[float, float] | float = 5.0
    binsz: float = 0.02
    frame: str = "icrs"
    proj: str = "CAR"
    energy: EnergyAxisConfig = EnergyAxisConfig(0.5, 50.0, 10)
    energy_true: EnergyAxisConfig = EnergyAxisConfig(0.3, 100.0, 20)


@dataclass(frozen=True)
class DatasetConfig:
    """Per-observation maps: which to make, cutout width (deg), IRF-map pixel size (deg)."""

    selection: tuple[str, ...] = ("counts", "exposure", "background", "psf", "edisp")
    cutout_width: float = 5.0
    irf_binsz: float = 0.2


@dataclass(frozen=True)
class SafeMaskConfig:
    """Safe-mask methods and their options."""

    methods: tuple[str, ...] = ("offset-max", "aeff-max")
    offset_max: float = 2.5
    aeff_percent: float = 10.0
    bias_percent: float = 10.0


@dataclass(frozen=True)
class ExclusionConfig:
    """Circular exclusion regions: a list of [lon, lat, radius] in deg (the geometry's frame)."""

    circles: tuple[tuple[float, float, float], ...] = ()


@dataclass(frozen=True)
class FoVConfig:
    """Field-of-view background normalisation ("scale")."""

    method: str = "scale"


@dataclass(frozen=True)
class RingConfig:
    """Ring background: inner radius and width (deg); `adaptive` grows the ring until the
    exposure ratio alpha falls below `alpha_max` (widths from `width` up to `width_max`)."""

    r_in: float = 0.5
    width: float = 0.3
    adaptive: bool = False
    alpha_max: float = 0.1
    width_max: float = 1.0
    step: float = 0.1


@dataclass(frozen=True)
class BackgroundConfig:
    """Background methods: FoV normalisation and/or a ring stack (null disables one)."""

    fov: FoVConfig | None = FoVConfig()
    ring: RingConfig | None = RingConfig()


@dataclass(frozen=True)
class ExcessConfig:
    """Excess and significance maps: correlation radius (deg)."""

    correlation_radius: float = 0.1


@dataclass(frozen=True)
class OutputConfig:
    """Output folder; per-observation datasets, PNG images, overwrite existing files."""

    dir: str = "sky-output"
    datasets: bool = False
    png: bool = True
    overwrite: bool = False


@dataclass(frozen=True)
class SpectrumConfig:
    """1-D spectrum with reflected regions: ON region [lon, lat, radius] (deg, `frame`),
    optional inner radius (annulus), safe-mask methods, and the OGIP output name."""

    on_region: tuple[float, float, float]
    inner: float = 0.0
    frame: str = "icrs"
    safe_methods: tuple[str, ...] = ("aeff-max",)
    aeff_percent: float = 10.0
    min_distance_input: float = 0.1
    max_region_number: int = 10000
    name: str = "spectrum"


@dataclass(frozen=True)
class ReduceConfig:
    """The whole configuration of a reduction."""

    data: DataConfig
    geom: GeomConfig
    dataset: DatasetConfig = DatasetConfig()
    safe_mask: SafeMaskConfig = SafeMaskConfig()
    exclusion: ExclusionConfig = ExclusionConfig()
    background: BackgroundConfig = BackgroundConfig()
    excess: ExcessConfig = ExcessConfig()
    output: OutputConfig = field(default_factory=OutputConfig)
    spectrum: SpectrumConfig | None = None
    n_processes: int = 1
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (lists for tuples), valid input of :func:`parse_config`."""
        return _plain(dataclasses.asdict(self))  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, where)
            except ConfigError as error:  # noqa: PERF203  (try each type of a union)
                errors.append(error.message)
        raise ConfigError(f"{where}: {' / '.join(errors)}", obj=where)
    if dataclasses.is_dataclass(hint):
        return _section(hint, value, where)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}", obj=where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{k}]") for k, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} values, got {value!r}", obj=where)
        return tuple(
            _convert(v, a, f"{where}[{k}]")
            for k, (v, a) in enumerate(zip(value, args, strict=True))
        )
    return _scalar(value, hint, where)


def _scalar(value: Any, hint: Any, where: str) -> Any:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            names = [str(m.value) for m in hint]
            near = closest(str(value), names)
            hint_text = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
            raise ConfigError(
                f"{where}: {value!r} is not one of {names}{hint_text}", obj=where
            ) from None
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(hint)
    if ok is None:
        raise ConfigError(f"{where}: unsupported type {hint!r}", obj=where)
    if not ok:
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}", obj=where)
    return float(value) if hint is float else value


def _section(cls: type[S], value: Any, where: str) -> S:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {value!r}", obj=where)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in value:
        if key not in fields:
            near = closest(str(key), fields)
            hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
            raise ConfigError(
                f"unknown key {key!r} in {where or 'config'!r}{hint} (keys: {', '.join(fields)})",
                obj=f"{where}.{key}".strip("."),
            )
    kwargs = {}
    for name, f in fields.items():
        sub = f"{where}.{name}".strip(".")
        if name in value:
            kwargs[name] = _convert(value[name], hints[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing key {name!r} in {where or 'config'!r}", obj=sub)
    return cls(**kwargs)


def _validate(cfg: ReduceConfig) -> ReduceConfig:
    from tierflow.sky._dataset import SafeMethod, Selection

    for name in cfg.dataset.selection:
        _scalar(name, Selection, "dataset.selection")
    for name in cfg.safe_mask.methods:
        _scalar(name, SafeMethod, "safe_mask.methods")
    if cfg.spectrum is not None:
        for name in cfg.spectrum.safe_methods:
            _scalar(name, SafeMethod, "spectrum.safe_methods")
        if cfg.spectrum.on_region[2] <= cfg.spectrum.inner:
            raise ConfigError("spectrum.on_region radius must exceed inner", obj="spectrum")
    positive = {
        "geom.binsz": cfg.geom.binsz,
        "dataset.cutout_width": cfg.dataset.cutout_width,
        "excess.correlation_radius": cfg.excess.correlation_radius,
        "n_processes": cfg.n_processes,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key} must be positive, got {value}", obj=key)
    if cfg.version != FORMAT_VERSION:
        raise ConfigError(f"config version {cfg.version}, expected {FORMAT_VERSION}", obj="version")
    return cfg


def parse_config(config: Mapping[str, Any]) -> ReduceConfig:
    """Build and validate a :class:`ReduceConfig` from a mapping (never modified)."""
    return _validate(_section(ReduceConfig, config, ""))


def read_config(path: str | os.PathLike[str]) -> ReduceConfig:
    """Read a YAML (or JSON) configuration; relative ``data.dir``/``output.dir`` are taken
    relative to the file's folder."""
    import yaml

    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text())
    except FileNotFoundError:
        raise ConfigError("config file not found", file=file) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", file=file) from None
    try:
        cfg = parse_config(raw if raw is not None else {})
    except ConfigError as error:
        raise ConfigError(error.message, file=file, obj=error.obj) from None
    base = file.resolve().parent
    data = dataclasses.replace(cfg.data, dir=str(base / cfg.data.dir))
    output = dataclasses.replace(cfg.output, dir=str(base / cfg.output.dir))
    return dataclasses.replace(cfg, data=data, output=output)
