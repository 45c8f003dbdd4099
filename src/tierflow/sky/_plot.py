"""Sky images as PNG files (matplotlib, imported on demand, with WCS axes)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import MismatchError, OptionalDependencyError
from tierflow.sky._geom import WcsGeom

__all__ = ["save_png", "save_pngs"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise OptionalDependencyError(
            "PNG images need matplotlib: pip install 'tierflow[plot]' (or matplotlib)"
        ) from None
    return plt


def save_png(
    image: NDArray[np.floating] | NDArray[np.bool_],
    geom: WcsGeom,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    label: str = "",
    cmap: str = "viridis",
    dpi: int = 100,
) -> Path:
    """Draw a 2-D map (sums over leading axes otherwise) with sky axes and save it as PNG.

    Examples
    --------
    >>> save_png(maps["sqrt_ts"], geom, "sqrt_ts.png", label="√TS")    # doctest: +SKIP
    """
    data = np.asarray(image, dtype=np.float64)
    if data.ndim > 2:
        data = np.nansum(data.reshape(-1, *data.shape[-2:]), axis=0)
    if data.shape != (geom.npix[1], geom.npix[0]):
        raise MismatchError(f"image of shape {data.shape} does not fit {geom}")
    plt = _pyplot()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = plt.figure(figsize=(6, 5))
    try:
        ax = fig.add_subplot(projection=geom.wcs)
        shown = ax.imshow(data, origin="lower", cmap=cmap, interpolation="nearest")
        frame = "Galactic" if geom.frame == "galactic" else "RA / Dec"
        ax.set_xlabel(f"{frame.split(' / ')[0]}")
        ax.set_ylabel(f"{frame.split(' / ')[-1]}")
        fig.colorbar(shown, ax=ax, label=label)
        if title:
            ax.set_title(title)
        tmp = out.with_name(f".{out.name}.tmp.png")
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, out)
    finally:
        plt.close(fig)
    return out


def save_pngs(
    maps: Mapping[str, NDArray[Any]],
    geom: WcsGeom,
    folder: str | os.PathLike[str],
    prefix: str = "",
) -> list[Path]:
    """One PNG per map, named ``<prefix><name>.png`` in `folder`."""
    return [
        save_png(data, geom, Path(folder) / f"{prefix}{name.lower()}.png", title=name, label=name)
        for name, data in maps.items()
    ]
