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

__all__ = [
    "plot_aoe_cut",
    "plot_aoe_energy_dependence",
    "plot_peak_fit",
    "plot_resolution",
    "save_aoe_plots",
    "save_energy_plots",
]


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
        path = out / f"{result.field}_peak_{peak.energy_kev:.1f}.png"
        paths.append(_save(plt, plot_peak_fit(energy, peak), path))
    paths.append(_save(plt, plot_resolution(result), out / f"{result.field}_resolution.png"))
    return paths


def _save(plt: Any, fig: Any, path: Any) -> str:
    """Write `fig` as PNG through a staged file, and close it whatever happens."""
    from tierflow.files import staged_path

    try:
        with staged_path(path) as temp:
            fig.savefig(temp, format="png", dpi=100)
    finally:
        plt.close(fig)
    return str(path)


def plot_aoe_energy_dependence(result: Any) -> Any:
    """A/E mean and width of the Compton bands against energy, with the fitted curves."""
    plt = _pyplot()
    ec = result.energy
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
    bands = [b for b in ec.bands if b.usable]
    x = np.array([b.energy_kev for b in bands])
    top.errorbar(x, [b.mean for b in bands], [b.mean_err for b in bands], fmt="o", color="k")
    bottom.errorbar(x, [b.sigma for b in bands], [b.sigma_err for b in bands], fmt="o", color="k")
    grid = np.linspace(x.min(), x.max(), 200) if len(x) else np.linspace(900, 2350, 200)
    top.plot(grid, ec.mean(grid), label=ec.mean_curve.name)
    bottom.plot(grid, ec.sigma(grid), label=ec.sigma_curve.name)
    top.set_ylabel("A/E mean")
    bottom.set_ylabel("A/E sigma")
    bottom.set_xlabel("energy (keV)")
    top.legend()
    bottom.legend()
    return fig


def plot_aoe_cut(result: Any) -> Any:
    """DEP survival fraction against the cut value, the sigmoid and the chosen cut."""
    plt = _pyplot()
    from tierflow.pargen._aoe import _sigmoid

    cut = result.low_cut
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = np.array([s.cut for s in cut.sweep])
    ax.errorbar(xs, [s.sf for s in cut.sweep], [s.sf_err for s in cut.sweep], fmt="o", color="k")
    grid = np.linspace(xs.min(), xs.max(), 300)
    ax.plot(grid, _sigmoid(grid, *cut.sigmoid.values), label="sigmoid")
    ax.axvline(cut.value, color="r", label=f"cut {cut.value:.3f}")
    ax.set_xlabel("A/E classifier cut")
    ax.set_ylabel("DEP survival fraction (%)")
    ax.legend()
    return fig


def save_aoe_plots(result: Any, folder: str) -> list[str]:
    """Save the A/E energy-dependence and cut plots as PNG into `folder`; return the paths."""
    from pathlib import Path

    plt = _pyplot()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in (("aoe_energy", plot_aoe_energy_dependence), ("aoe_cut", plot_aoe_cut)):
        paths.append(_save(plt, make(result), out / f"{name}.png"))
    return paths
