"""Make ``anchor-4f.npz``: what showerdata 0.7.0 computes from ``showers-4f.h5``.

Run in an environment with showerdata 0.7.0 (not tierflow's main one)::

    python tests/showers/data/make_anchor_outputs.py ../shared/testdata/showers/showers-4f.h5

Padded outputs are stored flat (the points of each shower before its padding) with their
``num_points``, to keep the file small.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import showerdata
from showerdata import detector, observables
from showerdata.shift_showers import shift_layers


def flat(points: np.ndarray, num_points: np.ndarray) -> np.ndarray:
    return points[np.arange(points.shape[1]) < num_points[:, None]]


def main(path: str) -> None:
    showers = showerdata.load(path)
    ild = detector.get_ILD_geometry()
    out: dict[str, np.ndarray] = {"showerdata_version": np.array(showerdata.__version__)}
    clustered = showerdata.cluster(showers, random_shift=False)
    out["cluster_points"] = flat(clustered.points, clustered._num_points)
    out["cluster_num_points"] = clustered._num_points
    filtered = showerdata.filter_showers(
        showers, radius=60.0, ecal_threshold=2e-4, hcal_threshold=5e-4
    )
    out["filter_points"] = flat(filtered.points, filtered._num_points)
    out["filter_num_points"] = filtered._num_points
    for inverse in (False, True):
        shifted = showerdata.Showers(
            points=[
                shift_layers(s, d, ild.layer_bottom_pos, ild.calo_surface, inverse)
                for s, d in zip(showers.points, showers.directions, strict=False)
            ],
            energies=showers.energies,
            pdg=showers.pdg,
            directions=showers.directions,
            shower_ids=showers.shower_ids,
        )
        key = "shift_inverse" if inverse else "shift"
        out[f"{key}_points"] = flat(shifted.points, shifted._num_points)
        out[f"{key}_num_points"] = shifted._num_points
    for label, config in (("none", None), ("ild", ild)):
        out[f"num_points_per_layer_{label}"] = observables.calc_num_points_per_layer(
            showers, 78, config
        )
        out[f"energy_per_layer_{label}"] = observables.calc_energy_per_layer(showers, 78, config)
        out[f"energy_per_radial_bin_{label}"] = observables.calc_energy_per_radial_bin(
            showers, detector_config=config
        )
        out[f"center_of_energy_{label}"] = observables.calc_center_of_energy(showers, config)
    np.savez_compressed(Path(__file__).with_name("anchor-4f.npz"), **out)  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1])
