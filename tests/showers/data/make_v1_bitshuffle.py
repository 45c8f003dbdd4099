"""Make ``v1-bitshuffle.lh5``: a small file of tierflow's shower layout (version 1) with the
filters of the second release: Bitshuffle + LZ4 with Bitshuffle's own block size (2,048 hits)
on 8,192-hit chunks; kept to check that such files stay readable, and are decoded directly
(:mod:`tierflow.showers._direct`), after new files moved to 512-hit blocks. The showers are
:func:`make_v1_lz4.fixture_showers`, which the test rebuilds to compare.

    python tests/showers/data/make_v1_bitshuffle.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import hdf5plugin

from tierflow import showers as sh
from tierflow.showers import _lh5format

sys.path.insert(0, str(Path(__file__).parent))
from make_v1_lz4 import fixture_showers

OLD_SETTINGS = {"compression": dict(hdf5plugin.Bitshuffle(cname="lz4")), "shuffle": False}
OLD_HITS_CHUNK_ROWS = 1 << 13


def main() -> None:
    _lh5format.HITS_CHUNK_ROWS = OLD_HITS_CHUNK_ROWS
    path = Path(__file__).with_name("v1-bitshuffle.lh5")
    sh.save(fixture_showers(), path, overwrite=True, hdf5_settings=OLD_SETTINGS)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
