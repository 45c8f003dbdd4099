"""Robust location and covariance: the Minimum Covariance Determinant by FastMCD.

The MCD estimate of ``n`` points in ``p`` dimensions is the mean and covariance of the ``h``
points (about half) whose covariance has the smallest determinant. FastMCD (Rousseeuw & Van
Driessen 1999) finds it with "C-steps": from a trial support, take the ``h`` points closest in
Mahalanobis distance to the support's mean and covariance; the determinant never grows. Many
random starts (``p + 1`` points each) get two C-steps on a subsample, the best ten are iterated
to convergence on all points. The raw estimate is then scaled to be consistent at the normal
distribution, and re-weighted: the final estimate is the plain mean and covariance of the points
within the 97.5% chi-square quantile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tierflow.errors import DatatypeError

__all__ = ["RobustCovariance", "min_cov_det"]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class RobustCovariance:
    """Result of :func:`min_cov_det`.

    Attributes
    ----------
    location, covariance
        The re-weighted estimate.
    raw_location, raw_covariance
        The MCD estimate of the best ``h``-subset (before the consistency factor).
    support
        Points used by the re-weighted estimate.
    distances
        Squared Mahalanobis distances of every point under the final estimate.
    """

    location: Array
    covariance: Array
    raw_location: Array
    raw_covariance: Array
    support: BoolArray
    distances: Array


def _mahalanobis2(x: Array, location: Array, covariance: Array) -> Array:
    """Squared distances of ``x`` (``(..., n, p)``) under one or a batch of estimates."""
    centred = x - location[..., None, :]
    precision = np.linalg.pinv(covariance, hermitian=True)
    return np.sum((centred @ precision) * centred, axis=-1)  # type: ignore[no-any-return]


def _stats(x: Array) -> tuple[Array, Array]:
    """Mean and (biased) covariance over the second-last axis, batched."""
    location = x.mean(axis=-2)
    centred = x - location[..., None, :]
    return location, np.swapaxes(centred, -1, -2) @ centred / x.shape[-2]


def _c_step(x: Array, h: int, location: Array, covariance: Array) -> tuple[Array, Array]:
    """One C-step (batched over leading axes of the estimates)."""
    closest = np.argpartition(_mahalanobis2(x, location, covariance), h - 1, axis=-1)[..., :h]
    return _stats(x[closest])


def _converge(
    x: Array, h: int, location: Array, covariance: Array, max_steps: int = 100
) -> tuple[float, Array, Array]:
    """C-steps until the determinant stops falling; returns (log-determinant, loc, cov)."""
    logdet = np.inf
    for _ in range(max_steps):
        location, covariance = _c_step(x, h, location, covariance)
        sign, new = np.linalg.slogdet(covariance)
        if sign <= 0:  # an exact fit: the h points lie on a hyperplane
            return -np.inf, location, covariance
        if new >= logdet - 1e-12:
            return float(new), location, covariance
        logdet = float(new)
    return logdet, location, covariance


def _raw_mcd(x: Array, h: int, n_trials: int, subsample: int, seed: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    n, p = x.shape
    sub = x if n <= subsample else x[rng.choice(n, size=subsample, replace=False)]
    h_sub = int(np.ceil(len(sub) * h / n))
    # all random (p+1)-point starts at once: two C-steps each on the subsample
    picks = np.argsort(rng.random((n_trials, len(sub))), axis=1)[:, : p + 1]
    location, covariance = _stats(sub[picks])
    covariance = covariance + 1e-9 * np.diag(np.var(sub, axis=0) + 1e-300)
    for _ in range(2):
        location, covariance = _c_step(sub, h_sub, location, covariance)
    sign, logdet = np.linalg.slogdet(covariance)
    logdet = np.where(sign > 0, logdet, -np.inf)
    best = np.argsort(logdet, kind="stable")[:10]
    # the ten best converge on the subsample first; those that end alike go on together
    refined = [_converge(sub, h_sub, location[i], covariance[i]) for i in best]
    unique = {np.round(loc, 12).tobytes(): (loc, cov) for _, loc, cov in refined}
    results = [_converge(x, h, loc, cov) for loc, cov in unique.values()]
    _, raw_location, raw_covariance = min(results, key=lambda t: t[0])
    return raw_location, raw_covariance


def min_cov_det(
    data: ArrayLike,
    support_fraction: float | None = None,
    *,
    n_trials: int = 500,
    subsample: int = 1500,
    seed: int = 0,
) -> RobustCovariance:
    """Minimum Covariance Determinant estimate of location and covariance (FastMCD).

    Parameters
    ----------
    data
        ``(n, p)`` points (rows with NaN are refused).
    support_fraction
        Fraction ``h / n`` of points in the MCD subset; default ``(n + p + 1) / 2n``, the
        highest breakdown point.
    n_trials
        Random starts (each ``p + 1`` points).
    subsample
        Points the random starts are refined on before the best ten go to the full data.
    seed
        Seed of the random starts (results are reproducible).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], 2000)
    >>> x[:300] = rng.uniform(5, 10, (300, 2))  # 15% outliers
    >>> r = min_cov_det(x)
    >>> bool(abs(r.covariance[0, 1] - 0.8) < 0.1), bool(r.support[:300].any())
    (True, False)
    """
    from scipy.stats import chi2

    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or len(x) <= x.shape[1] + 1:
        raise DatatypeError(f"min_cov_det needs (n, p) points with n > p + 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise DatatypeError("min_cov_det: the points contain NaN or inf")
    n, p = x.shape
    if support_fraction is None:
        h = min(int(np.ceil(0.5 * (n + p + 1))), n)
    else:
        h = int(support_fraction * n)
    raw_location, raw_covariance = _raw_mcd(x, h, n_trials, subsample, seed)
    d2 = _mahalanobis2(x, raw_location, raw_covariance)
    d2 /= np.median(d2) / chi2(p).isf(0.5)  # consistency at the normal distribution
    support = d2 < chi2(p).isf(0.025)
    location, covariance = _stats(x[support])
    return RobustCovariance(
        location,
        covariance,
        raw_location,
        raw_covariance,
        support,
        _mahalanobis2(x, location, covariance),
    )
