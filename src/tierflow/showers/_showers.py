"""In-memory showers: point clouds stored flat with offsets, and the incident particles.

A set of showers is one flat ``(total_points, n_features)`` float32 array plus the number of
points of each shower; the padded ``(n_showers, max_points, n_features)`` array that showerdata
keeps in memory is made only on request (:attr:`Showers.points`, :meth:`Showers.to_padded`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from types import EllipsisType
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError
from tierflow.types import normalize_rows

__all__ = [
    "FEATURES_4",
    "FEATURES_5",
    "IncidentParticles",
    "Index",
    "Showers",
    "concatenate",
    "normalize_index",
]

Index = Union[int, np.integer, slice, EllipsisType, Sequence[int], npt.NDArray[Any], tuple[()]]
"""What selects showers: an integer (numpy integers too), a slice, indices, a mask or ``...``."""

FEATURES_4 = ("x", "y", "z", "energy")
FEATURES_5 = ("x", "y", "z", "energy", "time")
ENERGY_COLUMN = 3


def normalize_index(index: Any, length: int) -> slice | npt.NDArray[np.intp]:
    """A slice with step 1 or an index array for `index` over `length` showers.

    An integer (Python or numpy) selects one shower, kept as a length-1 selection as in
    showerdata; negative integers count from the end.

    Example
    -------
    >>> normalize_index(np.int64(-1), 10)
    slice(9, 10, None)
    """
    if isinstance(index, tuple) and len(index) == 1:
        index = index[0]
    if index is Ellipsis or (isinstance(index, tuple) and index == ()):
        return slice(0, length)
    if isinstance(index, tuple):
        raise IndexError("multi-dimensional indexing of showers is not supported")
    if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
        i = int(index) + (length if index < 0 else 0)
        if not 0 <= i < length:
            raise IndexError(f"shower index {int(index)} is out of range for {length} showers")
        return slice(i, i + 1)
    if not isinstance(index, slice):
        array = np.asarray(index)
        if array.ndim != 1 and array.size:
            raise IndexError(f"showers are selected by a 1-d list or mask, not shape {array.shape}")
    return normalize_rows(index, length)  # slices, masks and index lists as for any rows


def offsets_of(num_points: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """``[0, n0, n0+n1, ...]``: where each shower starts in the flat point array."""
    offsets = np.zeros(len(num_points) + 1, dtype=np.int64)
    np.cumsum(num_points, out=offsets[1:])
    return offsets


def gather_rows(offsets: npt.NDArray[np.int64], picked: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """Flat row indices of the showers `picked`, in that order."""
    starts, stops = offsets[picked], offsets[picked + 1]
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    shift = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return shift + np.arange(total, dtype=np.int64)


def _as_float32(values: npt.ArrayLike, copy: bool | None) -> npt.NDArray[np.float32]:
    return np.array(values, dtype=np.float32, copy=True if copy else None)


def _inferred_lengths(padded: npt.NDArray[np.float32]) -> npt.NDArray[np.int32]:
    """Points per shower of a padded array: up to the last point with non-zero energy.

    Unlike counting non-zero energies, a hit of zero energy inside a shower is kept.
    """
    nonzero = padded[:, :, ENERGY_COLUMN] != 0
    width = padded.shape[1]
    last = width - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), last, 0).astype(np.int32)


def _flatten_padded(
    padded: npt.NDArray[np.float32], num_points: npt.NDArray[np.int32]
) -> npt.NDArray[np.float32]:
    if np.any(num_points > padded.shape[1]) or np.any(num_points < 0):
        raise MismatchError(
            f"num_points must lie in [0, {padded.shape[1]}] for points padded to that width"
        )
    mask = np.arange(padded.shape[1]) < num_points[:, None]
    return np.ascontiguousarray(padded[mask])


class IncidentParticles:
    """The particles that started the showers: energy, PDG id and direction (a unit vector).

    Parameters
    ----------
    energies
        Energies, shape ``(n, 1)`` (or ``(n,)``).
    pdg
        PDG ids, one per particle or a single id for all.
    directions
        Unit vectors ``(n, 3)``; default ``(0, 0, 1)``.

    Example
    -------
    >>> p = IncidentParticles([[10.0], [20.0]], pdg=22)
    >>> p.pdg.tolist(), p.directions[1].tolist()
    ([22, 22], [0.0, 0.0, 1.0])
    """

    def __init__(
        self,
        energies: npt.ArrayLike,
        pdg: npt.ArrayLike | int,
        directions: npt.ArrayLike | None = None,
        copy: bool | None = None,
    ) -> None:
        self.energies = _as_float32(energies, copy)
        if self.energies.ndim == 1:
            self.energies = self.energies.reshape(-1, 1)
        n = len(self.energies)
        self.pdg = np.array(pdg, dtype=np.int32, copy=True if copy else None)
        if self.pdg.ndim == 0:
            self.pdg = np.full(n, int(self.pdg), dtype=np.int32)
        elif self.pdg.ndim > 1 and all(d == 1 for d in self.pdg.shape[1:]):
            self.pdg = self.pdg.reshape(-1)
        if directions is None:
            self.directions = np.zeros((n, 3), dtype=np.float32)
            self.directions[:, 2] = 1.0
        else:
            self.directions = _as_float32(directions, copy)
        self._check()

    def _check(self) -> None:
        n = len(self.energies)
        if self.energies.shape != (n, 1):
            raise MismatchError(f"energies must have shape (n, 1), not {self.energies.shape}")
        if self.directions.shape != (n, 3):
            raise MismatchError(f"directions must have shape ({n}, 3), not {self.directions.shape}")
        if self.pdg.shape != (n,):
            raise MismatchError(f"pdg must have shape ({n},), not {self.pdg.shape}")

    def __len__(self) -> int:
        return len(self.energies)

    def __getitem__(self, index: Index) -> IncidentParticles:
        sel = normalize_index(index, len(self))
        return IncidentParticles(self.energies[sel], self.pdg[sel], self.directions[sel])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IncidentParticles):
            return NotImplemented
        return all(
            np.array_equal(a, b)
            for a, b in zip(
                (self.energies, self.pdg, self.directions),
                (other.energies, other.pdg, other.directions),
                strict=False,
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"IncidentParticles(n={len(self)}, pdg={np.unique(self.pdg).tolist()})"

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> None:
        """Write the particles alone to a file in showerdata's layout."""
        from tierflow.showers._api import save

        save(self, path, overwrite=overwrite)


class Showers:
    """Calorimeter showers: point clouds (x, y, z, energy[, time] per point) and their particles.

    Points are kept flat, ``(total_points, n_features)``, with the number of points of each
    shower; give either padded `points` as showerdata does or `flat_points`.

    Parameters
    ----------
    points
        Padded points ``(n, max_points, 4 or 5)``. Without `num_points`, a shower ends at its
        last point of non-zero energy (a zero-energy hit inside a shower is kept).
    energies, pdg, directions
        The incident particles (see :class:`IncidentParticles`).
    shower_ids
        One id per shower (default ``0..n-1``).
    num_points
        Points in each shower.
    copy
        Copy the inputs (default: only when a conversion needs it).
    flat_points
        Instead of `points`: every shower's points one after another, ``(total, 4 or 5)``.
    max_points
        The padded width (what showerdata files record in ``shape``); default: the width of
        `points` or the longest shower.

    Example
    -------
    >>> s = Showers(flat_points=np.ones((5, 4)), num_points=[2, 3], energies=[1.0, 2.0], pdg=22)
    >>> len(s), s.num_points.tolist(), s.points.shape
    (2, [2, 3], (2, 3, 4))
    >>> s[np.int64(1)].shower(0).shape
    (3, 4)
    """

    def __init__(
        self,
        points: npt.ArrayLike = (),
        energies: npt.ArrayLike = (),
        pdg: npt.ArrayLike | int = (),
        directions: npt.ArrayLike | None = None,
        shower_ids: npt.ArrayLike | None = None,
        num_points: npt.ArrayLike | None = None,
        copy: bool | None = None,
        *,
        flat_points: npt.ArrayLike | None = None,
        max_points: int | None = None,
    ) -> None:
        self.flat, self._num_points, width = self._points_from(
            points, flat_points, num_points, copy
        )
        self.offsets = offsets_of(self._num_points)
        n = len(self._num_points)
        particles = IncidentParticles(
            energies if np.size(energies) or n == 0 else np.empty((0, 1)),
            pdg if not (isinstance(pdg, tuple) and pdg == ()) else np.empty(n, np.int32),
            directions,
            copy,
        )
        self.energies, self.pdg, self.directions = (
            particles.energies,
            particles.pdg,
            particles.directions,
        )
        self.shower_ids = (
            np.arange(n, dtype=np.int32)
            if shower_ids is None
            else np.array(shower_ids, dtype=np.int32, copy=True if copy else None).reshape(-1)
        )
        longest = int(self._num_points.max(initial=0))
        self.max_points = max(longest, width if max_points is None else int(max_points))
        self._check()

    @classmethod
    def trusted(
        cls,
        flat: npt.NDArray[np.float32],
        num_points: npt.NDArray[np.int32],
        energies: npt.NDArray[np.float32],
        pdg: npt.NDArray[np.int32],
        directions: npt.NDArray[np.float32],
        shower_ids: npt.NDArray[np.int32],
        max_points: int,
        offsets: npt.NDArray[np.int64] | None = None,
    ) -> Showers:
        """Showers from arrays of the right dtypes and shapes, without copies or checks
        (for readers of files whose consistency was checked when they were opened; `offsets`,
        when known, are those of `num_points`)."""
        self = cls.__new__(cls)
        self.flat, self._num_points = flat, num_points.astype(np.int32, copy=False)
        self.offsets = offsets_of(self._num_points) if offsets is None else offsets
        self.energies, self.pdg, self.directions = energies, pdg, directions
        self.shower_ids, self.max_points = shower_ids, max_points
        return self

    @staticmethod
    def _points_from(
        points: npt.ArrayLike,
        flat_points: npt.ArrayLike | None,
        num_points: npt.ArrayLike | None,
        copy: bool | None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], int]:
        lengths = None if num_points is None else np.asarray(num_points).astype(np.int32)
        if flat_points is not None:
            flat = _as_float32(flat_points, copy)
            if lengths is None:
                raise MismatchError("flat_points need num_points")
            return flat, lengths.reshape(-1), 0
        if isinstance(points, tuple) and points == ():
            return np.empty((0, 5), np.float32), np.empty(0, np.int32), 0
        padded = np.asarray(points, dtype=np.float32)
        if padded.ndim != 3 or padded.shape[2] not in (4, 5):
            raise MismatchError(
                f"points must have shape (n_showers, max_points, 4 or 5), not {padded.shape}"
            )
        lengths = _inferred_lengths(padded) if lengths is None else lengths.reshape(-1)
        if len(lengths) != len(padded):
            raise MismatchError(f"num_points has {len(lengths)} entries for {len(padded)} showers")
        return _flatten_padded(padded, lengths), lengths, padded.shape[1]

    def _check(self) -> None:
        n = len(self._num_points)
        if self.flat.ndim != 2 or self.flat.shape[1] not in (4, 5):
            raise MismatchError(f"points need 4 or 5 features, not shape {self.flat.shape}")
        if int(self.offsets[-1]) != len(self.flat):
            raise MismatchError(
                f"num_points add up to {int(self.offsets[-1])} but there are "
                f"{len(self.flat)} points"
            )
        if np.any(self._num_points < 0):
            raise MismatchError("num_points must not be negative")
        for name in ("energies", "pdg", "directions", "shower_ids"):
            if len(getattr(self, name)) != n:
                raise MismatchError(
                    f"{name} has {len(getattr(self, name))} entries for {n} showers"
                )
        if np.any(self.flat[:, ENERGY_COLUMN] < 0):
            raise MismatchError("point energies must not be negative")

    # ---- sizes and views -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._num_points)

    @property
    def num_points(self) -> npt.NDArray[np.int32]:
        """The number of points of every shower."""
        return self._num_points

    @property
    def num_features(self) -> int:
        """4 (x, y, z, energy) or 5 (with time)."""
        return int(self.flat.shape[1])

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_showers, max_points, n_features)``, as showerdata files record it."""
        return (len(self), self.max_points, self.num_features)

    @property
    def is_empty(self) -> bool:
        """Whether there are no showers."""
        return len(self) == 0

    @property
    def points(self) -> npt.NDArray[np.float32]:
        """The points padded with zeros to ``max_points`` (a new array on every access)."""
        return self.to_padded()

    def to_padded(self, max_points: int | None = None) -> npt.NDArray[np.float32]:
        """Points as ``(n, max_points, n_features)``, zero padded; longer showers are cut."""
        width = self.max_points if max_points is None else int(max_points)
        lengths = np.minimum(self._num_points, width)
        padded = np.zeros((len(self), width, self.num_features), dtype=np.float32)
        mask = np.arange(width) < lengths[:, None]
        cut = bool(np.any(lengths < self._num_points))
        padded[mask] = self.flat[_kept_rows(self._num_points, lengths)] if cut else self.flat
        return padded

    def shower(self, i: int) -> npt.NDArray[np.float32]:
        """The points of shower `i`, ``(num_points[i], n_features)`` (a view)."""
        i = int(i) + (len(self) if i < 0 else 0)
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    @property
    def inc_particles(self) -> IncidentParticles:
        """The incident particles of these showers."""
        return IncidentParticles(self.energies, self.pdg, self.directions)

    # ---- selection and combination ---------------------------------------------------------
    def __getitem__(self, index: Index) -> Showers:
        sel = normalize_index(index, len(self))
        if isinstance(sel, slice):
            flat = self.flat[self.offsets[sel.start] : self.offsets[sel.stop]]
        else:
            flat = self.flat[gather_rows(self.offsets, sel)]
        return self._like(flat, sel)

    def _like(self, flat: npt.NDArray[np.float32], sel: Any) -> Showers:
        return Showers(
            flat_points=flat,
            num_points=self._num_points[sel],
            energies=self.energies[sel],
            pdg=self.pdg[sel],
            directions=self.directions[sel],
            shower_ids=self.shower_ids[sel],
            max_points=self.max_points,
        )

    def __iter__(self) -> Iterator[Showers]:
        return (self[i] for i in range(len(self)))

    def __add__(self, other: Showers) -> Showers:
        if not isinstance(other, Showers):
            return NotImplemented
        return concatenate([self, other])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Showers):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, name), getattr(other, name))
            for name in ("_num_points", "flat", "energies", "pdg", "directions", "shower_ids")
        )

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Showers:
        """A deep copy."""
        return Showers(
            flat_points=self.flat.copy(),
            num_points=self._num_points.copy(),
            energies=self.energies.copy(),
            pdg=self.pdg.copy(),
            directions=self.directions.copy(),
            shower_ids=self.shower_ids.copy(),
            max_points=self.max_points,
        )

    def __repr__(self) -> str:
        return (
            f"Showers(n={len(self)}, points={len(self.flat)}, features={self.num_features}, "
            f"max_points={self.max_points})"
        )

    def save(self, path: str | os.PathLike[str], overwrite: bool = False, **kwargs: Any) -> None:
        """Write to `path` (see :func:`tierflow.showers.save`)."""
        from tierflow.showers._api import save

        save(self, path, overwrite=overwrite, **kwargs)


def _kept_rows(num_points: npt.NDArray[Any], lengths: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which flat rows survive cutting every shower to `lengths` points."""
    offsets = offsets_of(num_points)
    position = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1], num_points)
    return position < np.repeat(lengths, num_points)


def concatenate(data: Iterable[Showers]) -> Showers:
    """All showers of `data`, one set after another.

    Example
    -------
    >>> a = Showers(flat_points=np.ones((2, 4)), num_points=[2], energies=[1.0], pdg=11)
    >>> len(concatenate([a, a, a]))
    3
    """
    parts = [s for s in data if not s.is_empty]
    if not parts:
        return Showers()
    features = {s.num_features for s in parts}
    if len(features) > 1:
        raise MismatchError(f"cannot concatenate showers with {sorted(features)} features")
    return Showers(
        flat_points=np.concatenate([s.flat for s in parts]),
        num_points=np.concatenate([s.num_points for s in parts]),
        energies=np.concatenate([s.energies for s in parts]),
        pdg=np.concatenate([s.pdg for s in parts]),
        directions=np.concatenate([s.directions for s in parts]),
        shower_ids=np.concatenate([s.shower_ids for s in parts]),
        max_points=max(s.max_points for s in parts),
    )
