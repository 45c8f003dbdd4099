"""The staged peak fit's choice between the tailed and the tail-less model."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tierflow.math import MODELS
from tierflow.math._fit import FitResult
from tierflow.pargen import _peakfit


def _line(seed: int = 3) -> np.ndarray[Any, Any]:
    """A Gaussian line of 2000 events on a flat background of 1000."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(2614.5, 1.3, 2000), rng.uniform(2590, 2640, 1000)])


def test_an_invalid_tailed_fit_gives_way_to_a_valid_tailless_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = _peakfit._two_paths

    def tail_never_converges(stage: Any, guess: Any) -> FitResult:
        if "htail" in stage.model.names:  # as when all its errors come out zero
            return FitResult.failed(stage.model.name, stage.model.names, guess, "minimum not valid")
        return real(stage, guess)

    monkeypatch.setattr(_peakfit, "_two_paths", tail_never_converges)
    fit = _peakfit.fit_peak(_line(), MODELS["hpge_peak"], (2590.0, 2640.0), 0.5)
    assert fit.valid
    assert fit.model == "gauss_on_step"
    assert math.isclose(fit["mu"], 2614.5, abs_tol=0.2)


def test_a_valid_tailed_fit_is_kept_when_the_tail_is_real() -> None:
    rng = np.random.default_rng(4)
    tail = 2614.5 - rng.exponential(4.0, 1500) + rng.normal(0, 1.3, 1500)
    events = np.concatenate([_line(), tail])
    fit = _peakfit.fit_peak(events, MODELS["hpge_peak"], (2590.0, 2640.0), 0.5)
    assert fit.valid
    assert fit.model == "hpge_peak"
    assert fit["htail"] > 3 * fit.error("htail")
