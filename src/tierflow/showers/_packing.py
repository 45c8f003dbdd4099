"""Which hits columns are compressed: those that Bitshuffle-LZ4 at least halves.

Decoding Bitshuffle-LZ4 runs at 1.5-2 GB/s a core; reading stored values from the page cache
or a fast disk, at 3-10 GB/s. A column that compresses to more than half its bytes, like the
energies of the hits (float32 of random mantissas: 0.85) or cell positions (0.6), costs a full
load more in decoding than it saves in reading, so new files store a column compressed only
when a sample of its chunks compresses to at most :data:`MAX_RATIO` of its size, and plain
(chunked, no filter) otherwise. Both are lossless and any HDF5 reader reads both; the narrow
integers of :mod:`~tierflow.showers._narrow` shrink the columns of few digits (positions,
layers) 2-4x either way.

On 20,000 clustered showers (41 M points, ``benchmarks/bench_showers.py``), every column
compressed made files 0.42 of showerdata's that loaded in 0.42 s; the default, 0.56 of its
size, loads in 0.1 s. For the smallest files, give the compression for every column
(``save(..., hdf5_settings={"compression": dict(hdf5plugin.Bitshuffle())})``).

Example
-------
>>> rng = np.random.default_rng(0)
>>> compresses_well(rng.integers(-5, 5, 100_000).astype(np.int16), 8192, 512)
True
>>> compresses_well(rng.random(100_000, dtype=np.float32), 8192, 512)
False
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from tierflow.showers._direct import bitshuffle, bitshuffle_path

__all__ = ["FILTER_NAMES", "MAX_RATIO", "SAMPLE_CHUNKS", "ColumnStorage", "compresses_well"]

MAX_RATIO = 0.5
"""A column is compressed when its sample compresses to at most this share of its bytes."""
SAMPLE_CHUNKS = 8
"""Chunks compressed to decide, spread over the column."""


@functools.cache
def _compress() -> Any:
    """``bshuf_compress_lz4`` of hdf5plugin's Bitshuffle library, or None."""
    lib = bitshuffle(bitshuffle_path())
    return None if lib is None else lib.bshuf_compress_lz4


def compresses_well(values: npt.NDArray[Any], chunk_rows: int, block_rows: int) -> bool:
    """Whether Bitshuffle-LZ4 (blocks of `block_rows`) stores a sample of `values`' chunks of
    `chunk_rows` in at most :data:`MAX_RATIO` of their bytes (True when the library is
    missing: HDF5 then decides, as before)."""
    compress = _compress()
    if compress is None or len(values) == 0:
        return True
    values = np.ascontiguousarray(values)
    n_chunks = -(-len(values) // chunk_rows)
    picked = np.unique(np.linspace(0, n_chunks - 1, min(SAMPLE_CHUNKS, n_chunks)).astype(int))
    stored = original = 0
    out = np.empty(2 * chunk_rows * values.itemsize + 4096, dtype=np.uint8)
    for k in picked.tolist():
        chunk = values[k * chunk_rows : (k + 1) * chunk_rows]
        size = compress(chunk.ctypes.data, out.ctypes.data, len(chunk), values.itemsize, block_rows)
        if size < 0:
            return True
        stored, original = stored + int(size), original + chunk.nbytes
    return stored <= MAX_RATIO * original


FILTER_NAMES = {1: "gzip", 2: "shuffle", 32004: "LZ4", 32008: "Bitshuffle", 32015: "Zstd"}
"""Short names of the HDF5 filters shower files use, by filter code."""


@dataclasses.dataclass(frozen=True)
class ColumnStorage:
    """How a hits column is stored: its dataset's values, filters and bytes on disk.

    Example
    -------
    >>> ColumnStorage("x", "int16", 2, (), 2_000_000, 1_000_000).line()
    'x        int16 / 2    plain                2.0 MB on disk, 0.50 of float32'
    """

    name: str
    dtype: str
    divisor: int | None
    filters: tuple[str, ...]
    stored_bytes: int
    rows: int

    @classmethod
    def of(cls, column: h5py.Dataset, divisor: int | None) -> ColumnStorage:
        """The storage of `column` (`divisor`: that of a narrow column, else None)."""
        plist = column.id.get_create_plist()
        filters = []
        for i in range(plist.get_nfilters()):
            code, _, _, name = plist.get_filter(i)
            filters.append(FILTER_NAMES.get(code) or name.decode(errors="replace").split(";")[0])
        name = column.name.rsplit("/", 1)[-1]
        stored = column.id.get_storage_size()
        return cls(name, str(column.dtype), divisor, tuple(filters), stored, column.shape[0])

    def line(self) -> str:
        """One line: name, stored values, filters, bytes on disk and their share of float32."""
        values = self.dtype if self.divisor is None else f"{self.dtype} / {self.divisor}"
        share = self.stored_bytes / max(4 * self.rows, 1)
        filters = " + ".join(self.filters) or "plain"
        size = f"{self.stored_bytes / 1e6:.1f} MB on disk, {share:.2f} of float32"
        return f"{self.name:<8} {values:<12} {filters:<20} {size}"
