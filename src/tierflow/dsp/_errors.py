"""Errors of the DSP tier (refining the tierflow tree)."""

from __future__ import annotations

from tierflow.errors import TierflowError

__all__ = ["ProcessingError"]


class ProcessingError(TierflowError, RuntimeError):
    """A processor failed on some rows (bad parameters for those waveforms)."""
