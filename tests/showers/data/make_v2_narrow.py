"""Make ``v2-narrow.lh5``: a small file of tierflow's shower layout version 2, whose hits
columns of few digits are stored narrowly as integers over a divisor (x: int16 of twice the
cell-centred values, divisor 2; y: int16 of 0.1 mm, divisor 10; z: the int8 layer, divisor 1),
as written since the third release (Bitshuffle + LZ4, 8,192-hit chunks of 512-hit blocks);
kept to check that such files stay readable. The showers are :func:`fixture_showers`, which
the test rebuilds to compare.

    python tests/showers/data/make_v2_narrow.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tierflow import showers as sh


def fixture_showers() -> sh.Showers:
    """Six showers of 0-70 points: x at cell centres (5 mm below layer 30, 30 mm from it),
    y in 0.1 mm."""
    rng = np.random.default_rng(20261122)
    num_points = np.array([9, 70, 0, 1, 41, 13], dtype=np.int32)
    total = int(num_points.sum())
    layer = rng.integers(0, 78, total)
    cell = np.where(layer < 30, 5.0, 30.0)
    x = (np.floor(rng.normal(0, 60, total) / cell) + 0.5) * cell
    y = np.round(rng.normal(0, 60, total), 1)
    energy = rng.exponential(1e-3, total)
    flat = np.stack([x, y, layer, energy], axis=1).astype(np.float32)
    return sh.Showers(
        flat_points=flat,
        num_points=num_points,
        energies=rng.uniform(10, 100, len(num_points)),
        pdg=rng.choice([11, 22, 211], len(num_points)),
        directions=np.tile(np.float32([0, 0, 1]), (len(num_points), 1)),
        max_points=80,
    )


def main() -> None:
    path = Path(__file__).with_name("v2-narrow.lh5")
    sh.save(fixture_showers(), path, overwrite=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
