"""Progress bars (tqdm, optional) for long shower jobs."""

from __future__ import annotations

from typing import Any

from tierflow.errors import OptionalDependencyError

__all__ = ["NoProgress", "make_progress"]


class NoProgress:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        """Count `n` more done."""

    def close(self) -> None:
        """Finish."""


def make_progress(total: int, desc: str, enabled: bool | None = None) -> Any:
    """A tqdm bar over `total` showers; `enabled` None: only when tqdm is installed."""
    if enabled is False:
        return NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        if enabled:
            raise OptionalDependencyError(
                "progress bars need tqdm: pip install 'tierflow[progress]'"
            ) from None
        return NoProgress()
    return tqdm(total=total, desc=desc, unit="showers", unit_scale=True)
