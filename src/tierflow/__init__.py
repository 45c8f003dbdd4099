"""tierflow: physics-detector data through its processing tiers in HDF5 (LH5), fast.

The subpackages are imported on demand, so ``import tierflow`` stays cheap::

    >>> import tierflow
    >>> from tierflow import lh5, types
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
