"""What a tierflow process does as it exits: it leaves its objects out of Python's final
garbage collections.

Once numba has loaded, the interpreter holds some 150,000 objects, and at exit Python's final
collections walk every one of them, for memory nobody will use: ~0.3 s at the end of every
command that decoded FlashCam or ORCA data or ran a dsp chain, and of every worker process of a
pool (the pool's shutdown waits for them). Freezing the objects (:func:`gc.freeze`) as the last
exit handler skips that walk. By then the command's files are closed; objects still free
themselves by reference counting as before, only the cycle search is skipped.

Example
-------
>>> skip_final_collections()
>>> final_collections_skipped()
True
"""

from __future__ import annotations

import atexit
import gc

__all__ = ["final_collections_skipped", "skip_final_collections"]

_registered = False


def skip_final_collections() -> None:
    """Freeze the objects alive at exit, once per process (for the ``tierflow`` command and
    the workers of its process pools: library calls leave the process alone)."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)  # registered first, so it runs after every later handler
        _registered = True


def final_collections_skipped() -> bool:
    """Whether this process will skip its final collections."""
    return _registered
