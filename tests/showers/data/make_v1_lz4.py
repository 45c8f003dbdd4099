"""Make ``v1-lz4.lh5``: a small file of tierflow's shower layout (version 1) as the first
release wrote it, with LZ4 and byte shuffle on 32,768-hit chunks; kept to check that files
of those settings stay readable after the defaults changed (Bitshuffle + LZ4, 2,048-hit
chunks). The showers are :func:`fixture_showers`, which the test rebuilds to compare.

    python tests/showers/data/make_v1_lz4.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tierflow import showers as sh
from tierflow.showers import _lh5format

OLD_SETTINGS = {"compression": "lz4", "shuffle": True}
OLD_HITS_CHUNK_ROWS = 1 << 15


def fixture_showers() -> sh.Showers:
    """Seven showers of 0-60 points, one with a zero-energy hit, one empty."""
    rng = np.random.default_rng(20261121)
    num_points = np.array([5, 60, 0, 1, 33, 17, 8], dtype=np.int32)
    flat = rng.normal(0, 50, (int(num_points.sum()), 4)).astype(np.float32)
    flat[:, 2] = rng.integers(0, 78, len(flat))
    flat[:, 3] = rng.exponential(1e-3, len(flat)).astype(np.float32)
    flat[7, 3] = 0.0
    return sh.Showers(
        flat_points=flat,
        num_points=num_points,
        energies=rng.uniform(10, 100, len(num_points)),
        pdg=rng.choice([11, 22, 211], len(num_points)),
        directions=np.tile(np.float32([0, 0, 1]), (len(num_points), 1)),
        max_points=64,
    )


def main() -> None:
    _lh5format.HITS_CHUNK_ROWS = OLD_HITS_CHUNK_ROWS
    path = Path(__file__).with_name("v1-lz4.lh5")
    sh.save(fixture_showers(), path, overwrite=True, hdf5_settings=OLD_SETTINGS)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
