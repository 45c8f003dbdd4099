"""Simplified calorimeter geometries: layers, cell sizes and hit thresholds.

Example
-------
>>> from tierflow.showers import GEOMETRIES
>>> ild = GEOMETRIES["ILD"]()
>>> ild.num_layers, ild.ecal_cell_size
(78, 5.0)
>>> DetectorGeometry.from_dict(ild.to_dict()) == ild
True
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from tierflow.errors import ConfigError, NotFoundError
from tierflow.registry import Registry

__all__ = [
    "GEOMETRIES",
    "DetectorGeometry",
    "get_ILD_geometry",
    "get_ILD_unclustered_geometry",
    "make_geometry",
    "make_test_geometry",
]

FORMAT_VERSION = 1

_ILD_LAYERS = (
    # ECAL: 30 layers
    1811.34, 1814.46, 1823.81, 1826.94, 1836.28, 1839.41, 1848.75, 1851.88, 1861.22, 1864.34,
    1873.69, 1876.81, 1886.16, 1889.29, 1898.63, 1901.76, 1911.1, 1914.22, 1923.57, 1926.69,
    1938.14, 1943.36, 1954.81, 1960.04, 1971.48, 1976.7, 1988.15, 1993.38, 2004.82, 2010.05,
    # HCAL: 48 layers, 26.5 mm apart
    *(2081.0 + 26.5 * i for i in range(48)),
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class DetectorGeometry:
    """A calorimeter of ECAL layers followed by HCAL layers, with square cells.

    Lengths are in mm, thresholds in MeV; the layer of a point is its ``z`` (0, 1, ...).

    Example
    -------
    >>> g = make_test_geometry(3)
    >>> g.is_ecal_layer(2), g.num_layers_hcal
    (True, 0)
    """

    calo_surface: float
    num_layers: int
    num_layers_ecal: int
    num_layers_hcal: int
    layer_thickness_ecal: float
    layer_thickness_hcal: float
    ecal_cell_size: float
    hcal_cell_size: float
    layer_bottom_pos: tuple[float, ...]
    ecal_threshold: float = 0.0
    hcal_threshold: float = 0.0
    name: str = "Detector"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_bottom_pos", tuple(map(float, self.layer_bottom_pos)))
        if self.num_layers_ecal + self.num_layers_hcal != self.num_layers:
            raise ConfigError(
                f"geometry {self.name!r}: {self.num_layers_ecal} ECAL + {self.num_layers_hcal} "
                f"HCAL layers is not {self.num_layers}"
            )
        if len(self.layer_bottom_pos) != self.num_layers:
            raise ConfigError(
                f"geometry {self.name!r}: {len(self.layer_bottom_pos)} layer positions for "
                f"{self.num_layers} layers"
            )

    def is_ecal_layer(self, z: float) -> bool:
        """Whether a point at layer coordinate `z` is in the ECAL."""
        return z < self.num_layers_ecal - 0.5

    def to_dict(self) -> dict[str, Any]:
        """A plain dict with a format version, as recorded in files."""
        out = dataclasses.asdict(self)
        out["layer_bottom_pos"] = list(self.layer_bottom_pos)
        return {"format_version": FORMAT_VERSION, **out}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectorGeometry:
        """The geometry of :meth:`to_dict`; unknown keys are an error naming the closest."""
        data = dict(data)
        version = data.pop("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ConfigError(f"detector geometry format version {version} is not supported")
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                raise NotFoundError(
                    f"unknown detector geometry key {key!r}", obj=key, candidates=known
                )
        try:
            return cls(**data)
        except TypeError as error:
            raise ConfigError(f"incomplete detector geometry: {error}") from None

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict())


def get_ILD_geometry() -> DetectorGeometry:  # noqa: N802 (showerdata's name)
    """The ILD calorimeter: 30 ECAL layers of 5 mm cells, 48 HCAL layers of 30 mm cells."""
    return DetectorGeometry(
        calo_surface=1804.0,
        num_layers=78,
        num_layers_ecal=30,
        num_layers_hcal=48,
        layer_thickness_ecal=0.525,
        layer_thickness_hcal=1.2,
        ecal_cell_size=5.0,
        hcal_cell_size=30.0,
        ecal_threshold=0.1,
        hcal_threshold=0.25,
        layer_bottom_pos=_ILD_LAYERS,
        name="ILD",
    )


def get_ILD_unclustered_geometry() -> DetectorGeometry:  # noqa: N802 (showerdata's name)
    """ILD before clustering: no cells and no thresholds."""
    return dataclasses.replace(
        get_ILD_geometry(),
        ecal_cell_size=0.0,
        hcal_cell_size=0.0,
        ecal_threshold=0.0,
        hcal_threshold=0.0,
        name="ILD_unclustered",
    )


def make_test_geometry(num_layers: int, threshold: float = 0.0) -> DetectorGeometry:
    """A small ECAL-only geometry: `num_layers` layers 1 mm apart, 10 mm cells."""
    return DetectorGeometry(
        calo_surface=100.0,
        num_layers=num_layers,
        num_layers_ecal=num_layers,
        num_layers_hcal=0,
        layer_thickness_ecal=1.0,
        layer_thickness_hcal=1.0,
        ecal_cell_size=10.0,
        hcal_cell_size=10.0,
        layer_bottom_pos=tuple(100.0 + i for i in range(num_layers)),
        ecal_threshold=threshold,
        hcal_threshold=threshold,
        name="TestDetector",
    )


GEOMETRIES: Registry[Callable[[], DetectorGeometry]] = Registry(
    "detector geometry", entry_point_group="tierflow.detector_geometries"
)
"""Geometry name → function making it; plugins add theirs through entry points."""
GEOMETRIES.add("ILD", get_ILD_geometry)
GEOMETRIES.add("ILD_unclustered", get_ILD_unclustered_geometry)


def make_geometry(spec: str | Mapping[str, Any] | DetectorGeometry) -> DetectorGeometry:
    """A geometry from a registered name, a dict (:meth:`DetectorGeometry.to_dict`) or itself."""
    if isinstance(spec, DetectorGeometry):
        return spec
    if isinstance(spec, str):
        return GEOMETRIES[spec]()
    return DetectorGeometry.from_dict(spec)
