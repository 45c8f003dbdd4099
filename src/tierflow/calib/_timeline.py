"""Resolution of overlapping validity intervals into a flat timeline, looked up by bisection.

The intervals in force (with the version each one resolves to) are swept once into sorted
segment starts; each segment names the winning entry or ``-1`` for a gap. A single lookup is one
``bisect`` on a Python list; a million lookups are one ``numpy.searchsorted``.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Timeline", "make_timeline"]


@dataclass(frozen=True)
class Timeline:
    """Segment starts, the entry in force in each segment (-1 = none), and the entries."""

    starts: list[int]
    slots: list[int]
    entries: list[tuple[int, int]]
    """(interval id, version number) per entry."""
    starts_array: np.ndarray
    slots_array: np.ndarray

    def find(self, at: int) -> int:
        """Index into :attr:`entries` of what is in force at `at`, or -1."""
        i = bisect_right(self.starts, at) - 1
        return -1 if i < 0 else self.slots[i]

    def find_many(self, at: np.ndarray) -> np.ndarray:
        """:meth:`find` for an int64 array of coordinates."""
        if not self.starts:
            return np.full(at.shape, -1, dtype=np.int64)
        i = np.searchsorted(self.starts_array, at, side="right") - 1
        out = self.slots_array[np.maximum(i, 0)]
        out[i < 0] = -1
        return out


def make_timeline(
    candidates: Sequence[tuple[int, int, int | None, int]],
) -> Timeline:
    """Sweep ``(interval id, since, until, version)`` candidates into a :class:`Timeline`.

    At every coordinate the candidate with the latest ``since`` that contains it wins; ties go to
    the larger interval id (the later insert). ``until=None`` is open-ended.

    Examples
    --------
    >>> t = make_timeline([(0, 0, None, 1), (1, 10, 20, 3)])
    >>> [t.find(x) for x in (-1, 5, 10, 19, 20)]
    [-1, 0, 1, 1, 0]
    """
    order = sorted(candidates, key=lambda c: (c[1], c[0]))
    bounds = sorted({c[1] for c in order} | {c[2] for c in order if c[2] is not None})
    heap: list[tuple[int, int, int]] = []  # (-since, -id, position in order)
    starts: list[int] = []
    slots: list[int] = []
    k = 0
    for bound in bounds:
        while k < len(order) and order[k][1] <= bound:
            heapq.heappush(heap, (-order[k][1], -order[k][0], k))
            k += 1
        while heap and (until := order[heap[0][2]][2]) is not None and until <= bound:
            heapq.heappop(heap)
        slot = heap[0][2] if heap else -1
        if not slots or slots[-1] != slot:
            starts.append(bound)
            slots.append(slot)
    entries = [(c[0], c[3]) for c in order]
    return Timeline(
        starts,
        slots,
        entries,
        np.asarray(starts, dtype=np.int64),
        np.asarray(slots, dtype=np.int64),
    )
