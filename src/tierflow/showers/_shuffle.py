"""Shuffle the showers of many files into one, streaming with bounded memory."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack

import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError
from tierflow.showers._api import _layout_for_new, open_store
from tierflow.showers._convert import create_store
from tierflow.showers._files import Layout, ShowerStore, atomic_path
from tierflow.showers._progress import make_progress
from tierflow.showers._showers import Showers, concatenate

__all__ = ["shuffle_files"]


def _read_batch(
    stores: list[ShowerStore], bounds: npt.NDArray[np.int64], picked: npt.NDArray[np.int64]
) -> Showers:
    """Showers of global indices `picked` (over all files), in that order."""
    file_of = np.searchsorted(bounds, picked, side="right") - 1
    order = np.argsort(file_of, kind="stable")
    parts = []
    for f in np.unique(file_of):
        local = picked[file_of == f] - bounds[f]
        parts.append(stores[f].read(local.astype(np.intp)))
    grouped = concatenate(parts)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return grouped[inverse]


def shuffle_files(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    seed: int | None = None,
    batch_size: int = 1000,
    overwrite: bool = False,
    overwrite_ids: bool = False,
    max_per_file: int | None = None,
    layout: Layout | str | None = None,
    progress: bool | None = False,
) -> int:
    """Write the showers of all `inputs` to `output` in one random order; returns their count.

    Memory holds one batch of showers; each batch reads only its showers from each input.
    With `overwrite_ids`, shower ids become ``0..n-1`` in the output's order.

    Example
    -------
    >>> shuffle_files(["a.h5", "b.lh5"], "mixed.lh5", seed=1)  # doctest: +SKIP
    400
    """
    rng = np.random.default_rng(seed)
    with ExitStack() as stack:
        stores = [stack.enter_context(open_store(path)) for path in inputs]
        sizes = np.array([len(s) for s in stores], dtype=np.int64)
        if max_per_file is not None:
            sizes = np.minimum(sizes, max_per_file)
        features = {s.shape[2] for s in stores}
        if len(features) > 1:
            raise MismatchError(f"the input files hold showers of {sorted(features)} features")
        bounds = np.concatenate(([0], np.cumsum(sizes)))
        total = int(bounds[-1])
        picked_all = rng.permutation(total)
        shape = (total, max(s.shape[1] for s in stores), features.pop() if features else 4)
        temp = stack.enter_context(atomic_path(output, overwrite))
        out = stack.enter_context(
            create_store(temp, _layout_for_new(output, layout), shape, shape_dtype=np.int32)
        )
        bar = make_progress(total, "shuffle", progress)
        for start in range(0, total, batch_size):
            batch = _read_batch(stores, bounds, picked_all[start : start + batch_size])
            if overwrite_ids:
                batch.shower_ids = np.arange(start, start + len(batch), dtype=np.int32)
            out.write(slice(start, start + len(batch)), batch)
            bar.update(len(batch))
        bar.close()
    return total
