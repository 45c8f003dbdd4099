"""Unit and property tests of the sky building blocks on synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow import sky
from tierflow.errors import ConfigError, FormatError, NotFoundError
from tierflow.sky._interp import interp_along, interp_pairs

finite = st.floats(-5, 5, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.lists(finite, min_size=3, max_size=3), min_size=4, max_size=4),
    x=st.floats(-1, 5),
    y=st.floats(-1, 4),
)
def test_separable_interpolation_equals_scipy(
    values: list[list[float]], x: float, y: float
) -> None:
    from scipy.interpolate import RegularGridInterpolator

    v = np.array(values)
    gx, gy = np.array([0.0, 1.0, 2.5, 4.0]), np.array([0.0, 1.0, 3.0])
    expected = RegularGridInterpolator((gx, gy), v, bounds_error=False, fill_value=None)([x, y])
    step = interp_along(interp_along(v, gx, np.array([x]), 0), gy, np.array([y]), 1)
    pair = interp_pairs(v, (gx, gy), (np.array([x]), np.array([y])))
    assert step[0, 0] == pytest.approx(expected[0], abs=1e-9)
    assert pair[0] == pytest.approx(expected[0], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(index=st.floats(-4, 4), amplitude=st.floats(1e-3, 1e3))
def test_trapz_loglog_is_exact_for_power_laws(index: float, amplitude: float) -> None:
    edges = np.geomspace(0.5, 50, 6)
    values = amplitude * edges**-index
    integral = sky.trapz_loglog(values, edges)
    if abs(1 - index) < 1e-9:
        exact = amplitude * np.log(edges[1:] / edges[:-1])
    else:
        exact = amplitude * (edges[1:] ** (1 - index) - edges[:-1] ** (1 - index)) / (1 - index)
    assert integral == pytest.approx(exact, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(energy=st.floats(0.1, 200))
def test_axis_binning_matches_edges(energy: float) -> None:
    axis = sky.Axis.from_energy_bounds(0.5, 50, 10)
    (idx,) = axis.coord_to_idx([energy])
    if energy < 0.5 or energy >= 50:
        assert idx == -1 or energy == 50
    else:
        assert axis.edges[idx] <= energy < axis.edges[idx + 1] * (1 + 1e-12)


def test_axis_from_nodes_and_errors() -> None:
    axis = sky.Axis.from_lo_hi("offset", [0, 0.5, 1], [0, 0.5, 1], sky.Scale.LIN, "deg")
    assert axis.edges == pytest.approx([-0.25, 0.25, 0.75, 1.25])
    assert axis.nodes == pytest.approx([0, 0.5, 1])
    with pytest.raises(ConfigError, match="edges must increase"):
        sky.Axis("energy", np.array([1.0, 1.0]))


def test_li_ma_and_cash_known_values() -> None:
    # Li & Ma (1983) eq. 17 by hand
    n_on, n_off, alpha = 20.0, 50.0, 0.2
    ts = 2 * (
        n_on * np.log((1 + alpha) / alpha * n_on / (n_on + n_off))
        + n_off * np.log((1 + alpha) * n_off / (n_on + n_off))
    )
    assert sky.sqrt_ts_wstat(np.array(n_on), np.array(n_off), np.array(alpha)) == pytest.approx(
        np.sqrt(ts)
    )
    assert sky.sqrt_ts_wstat(np.array(0.0), np.array(10.0), np.array(0.1)) == pytest.approx(
        -np.sqrt(2 * 10 * np.log(1.1))
    )
    assert sky.sqrt_ts_cash(np.array(2.0), np.array(2.0)) == 0
    assert sky.sqrt_ts_cash(np.array(0.0), np.array(3.0)) == pytest.approx(-np.sqrt(6.0))


def test_kernels() -> None:
    ring = sky.make_ring_kernel(25.0, 0.3 / 0.02)
    assert ring.shape == (81, 81)
    assert ring[40, 40 + 25] == 1
    assert ring[40, 40 + 24] == 0
    assert ring[40, 40 + 40] == 1  # outer radius inclusive, as astropy Ring2D
    disc = sky.make_tophat_kernel(5.0)
    assert disc.shape == (11, 11)
    assert disc.sum() == 81


def test_geometry_cutout_and_solid_angle() -> None:
    geom = sky.WcsGeom.create((10.0, 0.0), 0.1, (4, 2))
    assert geom.data_shape == (20, 40)
    total = geom.solid_angle.sum()
    assert total == pytest.approx(np.radians(4) * 2 * np.sin(np.radians(1)), rel=1e-3)
    cut, (sy, sx) = geom.cutout(11.5, 0.0, 2.0)
    assert cut.npix == (15, 20)  # trimmed at the edge
    assert (sy, sx) == (slice(0, 20), slice(0, 15))
    lon, lat = cut.lonlat
    plon, plat = geom.lonlat
    assert np.allclose(lon, plon[sy, sx])
    assert np.allclose(lat, plat[sy, sx])
    with pytest.raises(ConfigError, match="unknown sky frame"):
        sky.WcsGeom.create((0, 0), 0.1, 1, frame="nope")


def _aeff() -> sky.EffectiveArea2D:
    e = sky.Axis("energy_true", np.geomspace(0.1, 100, 7), sky.Scale.LOG, "TeV")
    o = sky.Axis.from_nodes("offset", [0.0, 1.0, 2.0], sky.Scale.LIN, "deg")
    data = np.outer(np.linspace(1, 6, 6), [1.0, 0.8, 0.4]) * 1e4
    return sky.EffectiveArea2D((e, o), data.astype(np.float32), "m2")


def test_exposure_and_counts_on_synthetic_data() -> None:
    aeff = _aeff()
    et = sky.Axis.from_energy_bounds(0.2, 50, 4, "energy_true")
    geom = sky.WcsGeom.create((0.0, 0.0), 0.5, 6, axes=[et])
    expo = sky.make_map_exposure_true_energy((0.0, 0.0), 100.0, aeff, geom)
    assert expo.shape == (4, 12, 12)
    offsets = geom.separation(0.0, 0.0)
    assert np.all(expo[:, offsets > 2.5] == 0)  # beyond the offset axis edge
    centre = aeff.evaluate({"energy_true": et.center}, {"offset": np.array([offsets[6, 6]])})
    assert expo[:, 6, 6] == pytest.approx(centre[:, 0] * 100)
    energy = sky.Axis.from_energy_bounds(1, 10, 2)
    events = sky.EventList(
        np.array([0.0, 0.1, 359.9, 50.0]),
        np.array([0.0, 0.2, -0.1, 0.0]),
        np.array([2.0, 5.0, 0.5, 2.0]),
        np.zeros(4),
    )
    counts = sky.make_map_counts(geom.to_cube([energy]), events)
    assert counts.sum() == 2
    assert counts[0].sum() == 1
    assert counts[1].sum() == 1


def test_irf_shape_is_checked() -> None:
    axes = _aeff().axes
    with pytest.raises(FormatError, match="data shape"):
        sky.EffectiveArea2D(axes, np.zeros((2, 2), np.float32), "m2")
    with pytest.raises(NotFoundError, match="did you mean 'offset'"):
        _aeff().axis("ofset")


def test_fov_norm_and_stacking() -> None:
    energy = sky.Axis.from_energy_bounds(1, 10, 2)
    et = sky.Axis.from_energy_bounds(0.5, 20, 3, "energy_true")
    geom = sky.WcsGeom.create((0.0, 0.0), 0.1, 1.0, axes=[energy])
    counts = np.full(geom.data_shape, 2.0, np.float32)
    ds = sky.MapDataset(
        "a",
        geom,
        (slice(0, 10), slice(0, 10)),
        et,
        counts=counts,
        background=np.ones(geom.data_shape),
        exposure=np.ones((3, 10, 10)),
    )
    ds.mask_safe = np.ones(geom.data_shape, bool)
    ds.mask_safe[0, :, :5] = False
    exclusion = np.ones((10, 10), bool)
    exclusion[:, 8:] = False
    norm, scaled = sky.scale_background_fov(ds, exclusion)
    assert norm == 2.0
    assert scaled.background is not None
    assert scaled.background.max() == 2.0
    stack = sky.MapStack(geom, et)
    stack.add(scaled)
    stack.add(scaled)
    assert stack.counts[0].sum() == 2 * 2 * 50
    assert stack.counts[1].sum() == 2 * 2 * 100
    assert stack.exposure.sum() == 2 * 3 * 100


def test_onoff_stack_is_alpha_weighted() -> None:
    geom = sky.WcsGeom.create((0.0, 0.0), 0.1, 0.2)
    ones = np.ones((2, 2))
    full = (slice(0, 2), slice(0, 2))
    stack = sky.OnOffStack(geom)
    for acc, off in ((1.0, 10.0), (1.0, 30.0)):
        stack.add(
            {
                "counts": ones,
                "counts_off": off * ones,
                "acceptance": acc * ones,
                "acceptance_off": 10 * acc * ones,
                "mask_safe": ones > 0,
            },
            full,
        )
    assert stack.alpha == pytest.approx(np.full((2, 2), 0.1))
    assert stack.counts_off == pytest.approx(np.full((2, 2), 40.0))
