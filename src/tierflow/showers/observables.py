"""Shower observables: points and energy per layer, radial profile, centre of energy.

Computed on the flat points (no padding), with showerdata's definitions and float32
accumulation order, and stored in (or read from) a file's ``observables`` group.

Example
-------
>>> import numpy as np
>>> from tierflow.showers import Showers, observables
>>> s = Showers(flat_points=[[0, 0, 0, 1.0], [0, 0, 2, 3.0]], num_points=[2], energies=[5.0],
...             pdg=22)
>>> observables.calc_energy_per_layer(s, num_layers=3).tolist()
[[1.0, 0.0, 3.0]]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.errors import ConfigError, NotFoundError
from tierflow.registry import Registry
from tierflow.showers._geometry import DetectorGeometry, get_ILD_unclustered_geometry, make_geometry
from tierflow.showers._showers import Showers

__all__ = [
    "OBSERVABLES",
    "Observable",
    "add_observables_to_file",
    "calc_center_of_energy",
    "calc_energy_per_layer",
    "calc_energy_per_radial_bin",
    "calc_num_points_per_layer",
    "compute_threshold_mask",
    "compute_observables",
    "read_observables_from_file",
]

DEFAULT_RADIAL_EDGES = (0.0, 400.0, 201)


def _shower_index(showers: Showers) -> npt.NDArray[np.intp]:
    return np.repeat(np.arange(len(showers), dtype=np.intp), showers.num_points)


def compute_threshold_mask(
    showers: Showers, detector_config: DetectorGeometry | None = None
) -> npt.NDArray[np.bool_]:
    """Which points count: energy above the ECAL / HCAL threshold (MeV) or, without a
    geometry, above zero."""
    e, z = showers.flat[:, 3], showers.flat[:, 2]
    if detector_config is None:
        return e > 0
    ecal = z < detector_config.num_layers_ecal - 0.5
    return np.where(
        ecal,
        e > detector_config.ecal_threshold / 1e3,
        e > detector_config.hcal_threshold / 1e3,
    )


def _layers(showers: Showers, num_layers: int) -> tuple[npt.NDArray[np.intp], int]:
    layer = (showers.flat[:, 2] + np.float32(0.1)).astype(np.int32)
    if num_layers < 0:
        num_layers = int(layer.max(initial=0)) + 1
    return layer.astype(np.intp), num_layers


def calc_num_points_per_layer(
    showers: Showers, num_layers: int = -1, detector_config: DetectorGeometry | None = None
) -> npt.NDArray[np.int32]:
    """Points per layer ``(n_showers, num_layers)``; `num_layers` -1 infers it."""
    layer, num_layers = _layers(showers, num_layers)
    flat_index = _shower_index(showers) * num_layers + layer
    mask = compute_threshold_mask(showers, detector_config)
    counts = np.bincount(flat_index[mask], minlength=len(showers) * num_layers)
    return counts.astype(np.int32).reshape(len(showers), num_layers)


def _energy_sums(
    showers: Showers, bins: npt.NDArray[np.intp], n_bins: int, energies: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    out = np.zeros(len(showers) * n_bins, dtype=np.float32)
    np.add.at(out, _shower_index(showers) * n_bins + bins, energies)
    return out.reshape(len(showers), n_bins)


def _masked_energy(
    showers: Showers, detector_config: DetectorGeometry | None
) -> npt.NDArray[np.float32]:
    mask = compute_threshold_mask(showers, detector_config)
    energy: npt.NDArray[np.float32] = showers.flat[:, 3] * mask.astype(np.float32)
    return energy


def calc_energy_per_layer(
    showers: Showers, num_layers: int = -1, detector_config: DetectorGeometry | None = None
) -> npt.NDArray[np.float32]:
    """Energy per layer ``(n_showers, num_layers)``."""
    layer, num_layers = _layers(showers, num_layers)
    return _energy_sums(showers, layer, num_layers, _masked_energy(showers, detector_config))


def calc_energy_per_radial_bin(
    showers: Showers,
    bin_edges: npt.ArrayLike | None = None,
    detector_config: DetectorGeometry | None = None,
) -> npt.NDArray[np.float32]:
    """Energy per bin of distance from the z axis ``(n_showers, n_bins)`` (default: 200 bins
    over 0-400 mm); energy beyond the last edge is not counted."""
    edges = (
        np.linspace(*DEFAULT_RADIAL_EDGES, dtype=np.float32)
        if bin_edges is None
        else np.asarray(bin_edges, dtype=np.float32)
    )
    x, y = showers.flat[:, 0], showers.flat[:, 1]
    bins = np.digitize(np.sqrt(x**2 + y**2), bins=edges) - 1
    n_bins = len(edges) - 1
    energy = _masked_energy(showers, detector_config)
    outside = (bins == n_bins) | (bins < 0)
    energy[outside] = 0.0
    bins[outside] = 0
    return _energy_sums(showers, bins.astype(np.intp), n_bins, energy)


def calc_center_of_energy(
    showers: Showers, detector_config: DetectorGeometry | None = None
) -> npt.NDArray[np.float32]:
    """Energy-weighted mean position ``(n_showers, 3)``."""
    energy = _masked_energy(showers, detector_config)
    index = _shower_index(showers)
    total = np.zeros(len(showers), dtype=np.float32)
    np.add.at(total, index, energy)
    weighted = np.zeros((len(showers), 3), dtype=np.float32)
    np.add.at(weighted, index, showers.flat[:, :3] * energy[:, None])
    centre: npt.NDArray[np.float32] = (weighted / (total[:, None] + 1e-8)).astype(np.float32)
    return centre


@dataclasses.dataclass(frozen=True)
class Observable:
    """How an observable is computed and stored."""

    key: str
    width: Callable[[DetectorGeometry], int]
    dtype: type
    function: Callable[[Showers, DetectorGeometry], npt.NDArray[Any]]


OBSERVABLES: Registry[Observable] = Registry(
    "shower observable", entry_point_group="tierflow.shower_observables"
)
"""The observables :func:`compute_observables` computes, by name."""
OBSERVABLES.add(
    "num_points_per_layer",
    Observable(
        "num_points_per_layer",
        lambda g: g.num_layers,
        np.int32,
        lambda s, g: calc_num_points_per_layer(s, g.num_layers, g),
    ),
)
OBSERVABLES.add(
    "energy_per_layer",
    Observable(
        "energy_per_layer",
        lambda g: g.num_layers,
        np.float32,
        lambda s, g: calc_energy_per_layer(s, g.num_layers, g),
    ),
)
OBSERVABLES.add(
    "energy_per_radial_bin",
    Observable(
        "energy_per_radial_bin",
        lambda g: DEFAULT_RADIAL_EDGES[2] - 1,
        np.float32,
        lambda s, g: calc_energy_per_radial_bin(s, detector_config=g),
    ),
)
OBSERVABLES.add(
    "center_of_energy",
    Observable(
        "center_of_energy",
        lambda g: 3,
        np.float32,
        lambda s, g: calc_center_of_energy(s, g),
    ),
)


def compute_observables(
    showers: Showers, detector_config: DetectorGeometry | str | None = None
) -> dict[str, npt.NDArray[Any]]:
    """Every registered observable of `showers` (default geometry: unclustered ILD)."""
    geometry = make_geometry(detector_config or get_ILD_unclustered_geometry())
    return {name: OBSERVABLES[name].function(showers, geometry) for name in OBSERVABLES}


def _geometry_of(handle: h5py.File, given: DetectorGeometry | str | None) -> DetectorGeometry:
    if given is not None:
        return make_geometry(given)
    clustered_for = handle.attrs.get("clustered_for", "")
    if isinstance(clustered_for, bytes):
        clustered_for = clustered_for.decode()
    try:
        return make_geometry(clustered_for or "ILD_unclustered")
    except NotFoundError as error:
        raise ConfigError(f"unknown 'clustered_for' geometry {clustered_for!r}: {error}") from None


def add_observables_to_file(
    path: str | os.PathLike[str],
    batch_size: int = 1000,
    overwrite: bool = False,
    detector_config: DetectorGeometry | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Compute every observable in batches and store it under ``observables/`` in the file."""
    from tierflow.showers._api import open_store

    with open_store(path, "a") as store:
        handle: h5py.File = store.handle
        geometry = _geometry_of(handle, detector_config)
        if "observables" in handle:
            if not overwrite:
                raise FileExistsError(f"{str(path)!r} has observables already (overwrite=True)")
            del handle["observables"]
        handle.attrs["observables_computed_for"] = geometry.name
        group = handle.create_group("observables")
        n = len(store)
        for name in OBSERVABLES:
            obs = OBSERVABLES[name]
            group.create_dataset(name, shape=(n, obs.width(geometry)), dtype=obs.dtype)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            showers = store.read(slice(start, stop))
            for name in OBSERVABLES:
                group[name][start:stop] = OBSERVABLES[name].function(showers, geometry)
            if progress is not None:
                progress(stop - start)


def read_observables_from_file(
    path: str | os.PathLike[str],
    observables: list[str] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Stored observables (and ``total_energy``, ``total_num_points``) of showers
    ``start..stop``; a missing one that was asked for names the closest present."""
    with h5py.File(path, "r") as handle:
        group = handle.get("observables", {})
        present = {name: group[name][start:stop] for name in group}
    for total in ("energy", "num_points"):
        layer_wise = f"{total}_per_layer"
        if layer_wise in present:
            present[f"total_{total}"] = present[layer_wise].sum(axis=1)
    if observables is None:
        return present
    for name in observables:
        if name not in present:
            raise NotFoundError(
                f"no observable {name!r}", file=path, obj=name, candidates=list(present)
            )
    return {name: present[name] for name in observables}
