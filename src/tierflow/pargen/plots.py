"""Plots of calibration fits and curves (matplotlib, imported on demand).

Example
-------
>>> # from tierflow.pargen import plots
>>> # fig = plots.plot_peak_fit(energies, peak_fit); fig.savefig("peak.png")
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from tierflow.errors import OptionalDependencyError

__all__ = ["plot_peak_fit", "plot_resolution", "save_energy_plots"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise OptionalDependencyError(
            "plots need matplotlib: pip install 'tierflow[plot]'"
        ) from error
    return plt


def plot_peak_fit(energy: ArrayLike, peak: Any) -> Any:
    """Histogram of one fitted line with the fitted model, its terms and the residuals."""
    from tierflow.math import MODELS, get_hist

    plt = _pyplot()
    model = MODELS[peak.fit.model]
    e = np.asarray(energy, dtype=np.float64)
    hist, edges, var = get_hist(e, range=peak.fit_range, dx=peak.bin_width)
    centres, width = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, height_ratios=(3, 1), figsize=(7, 6))
    top.errorbar(centres, hist, np.sqrt(var), fmt=".", color="k", label="data")
    if np.all(np.isfinite(peak.fit.values)):
        expected = model.density(centres, *peak.fit.values) * width
        top.plot(centres, expected, label=f"{model.name}")
        for term, comp in zip(
            model.component_densities(centres, *peak.fit.values), model.components, strict=False
        ):
            top.plot(centres, term * width, ls="--", label=comp.dist.name)
        bottom.plot(centres, (hist - expected) / np.sqrt(np.where(expected > 0, expected, 1)), ".")
    top.set_ylabel("counts / bin")
    top.set_title(
        f"{peak.energy_kev} keV: pos {peak.position:.2f} +- {peak.position_err:.2f}, "
        f"p = {peak.fit.p_value:.3f}"
    )
    top.legend()
    bottom.set_xlabel("uncalibrated energy")
    bottom.set_ylabel("residual (sigma)")
    return fig


def plot_resolution(result: Any) -> Any:
    """FWHM of the fitted lines against energy with every fitted resolution curve."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    slope = result.pars[1]
    for f in result.peak_fits:
        if f.valid:
            ax.errorbar(f.energy_kev, f.fwhm * slope, f.fwhm_err * slope, fmt="o", color="k")
    x = np.linspace(200, 2700, 300)
    for name, curve in result.resolution.items():
        if np.all(np.isfinite(curve.fit.values)):
            from tierflow.pargen._resolution import RESOLUTION_MODELS

            ax.plot(x, RESOLUTION_MODELS[name](x, *curve.fit.values), label=f"{curve.model}")
    ax.set_xlabel("energy (keV)")
    ax.set_ylabel("FWHM (keV)")
    ax.legend()
    return fig


def save_energy_plots(energy: ArrayLike, result: Any, folder: str) -> list[str]:
    """Save a PNG per fitted line and one of the resolution curves into `folder`; return paths."""
    from pathlib import Path

    plt = _pyplot()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for peak in result.peak_fits:
        fig = plot_peak_fit(energy, peak)
        path = out / f"{result.field}_peak_{peak.energy_kev:.1f}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(str(path))
    fig = plot_resolution(result)
    path = out / f"{result.field}_resolution.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(str(path))
    return paths
