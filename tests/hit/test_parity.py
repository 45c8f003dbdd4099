"""Parity with the anchor: the hit files pygama 2.6.2 made from the shared dsp files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from tierflow.hit import build_hit

pytestmark = pytest.mark.shared

DSP = "prod-ref-l200/generated/tier/dsp/cal/p03"
R000 = f"{DSP}/r000/l200-p03-r000-cal-20230311T235840Z-tier_dsp.lh5"
R001 = f"{DSP}/r001/l200-p03-r001-cal-20230318T012144Z-tier_dsp.lh5"
CASES = [
    ("cal-r000-basic", R000, "pygama-basic-hit-config.json"),
    ("cal-r000-legend", R000, "hit-legend-like-config.json"),
    ("cal-r001-basic", R001, "pygama-basic-hit-config.json"),
]


def _objects(handle: h5py.File) -> dict[str, h5py.Dataset | h5py.Group]:
    found: dict[str, h5py.Dataset | h5py.Group] = {}
    handle.visititems(lambda name, obj: found.setdefault(name, obj))
    return found


@pytest.mark.parametrize(("reference_name", "dsp", "config"), CASES)
def test_hit_output_equals_the_anchor(
    reference: Path,
    legend_lh5: Path,
    tmp_path: Path,
    reference_name: str,
    dsp: str,
    config: str,
) -> None:
    configs = reference / "legend" / "configs"
    out = build_hit(legend_lh5 / dsp, tmp_path / "hit.lh5", hit_config=configs / config)
    with h5py.File(out) as ours, h5py.File(reference / f"legend/hit/{reference_name}.lh5") as ref:
        got, want = _objects(ours), _objects(ref)
        assert sorted(got) == sorted(want)
        for name, expected in want.items():
            assert dict(got[name].attrs) == dict(expected.attrs), name
            if isinstance(expected, h5py.Dataset):
                a, b = got[name][()], expected[()]
                assert a.dtype == b.dtype, name
                if a.dtype.kind == "f":
                    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=name)
                else:
                    np.testing.assert_array_equal(a, b, err_msg=name)


def test_quality_bits_are_identical_flag_words(
    reference: Path, legend_lh5: Path, tmp_path: Path
) -> None:
    config = reference / "legend/configs/hit-legend-like-config.json"
    out = build_hit(legend_lh5 / R000, tmp_path / "hit.lh5", hit_config=config, buffer_len=5000)
    with h5py.File(out) as ours, h5py.File(reference / "legend/hit/cal-r000-legend.lh5") as ref:
        words = ours["ch1104000/hit/quality_bits"][()]
        np.testing.assert_array_equal(words, ref["ch1104000/hit/quality_bits"][()])
        flags = ["is_valid_bl_slope", "is_valid_t0", "is_valid_tmax", "AoE_Low_Cut"]
        for bit, flag in enumerate(flags):
            expected = ref[f"ch1104000/hit/{flag}"][()].astype(bool)
            np.testing.assert_array_equal((words >> bit) & 1 == 1, expected, err_msg=flag)
        assert len(np.unique(words)) == 2  # bit 0 varies on this file: 14 and 15


def test_aggregations_config_gives_the_expected_words(
    reference: Path, legend_lh5: Path, tmp_path: Path
) -> None:
    config = reference / "legend/configs/pygama-aggregations-hit-config.json"
    out = build_hit(legend_lh5 / R001, tmp_path / "hit.lh5", hit_config=config)
    with h5py.File(out) as ours, h5py.File(legend_lh5 / R001) as dsp:
        for channel in ("ch1084803", "ch1084804", "ch1121600"):
            d = {k: dsp[f"{channel}/dsp/{k}"][()] for k in ("tp_10", "tp_50", "tp_90", "tp_max")}
            t0 = dsp[f"{channel}/dsp/tp_0_est"][()]
            rt = ((d["tp_90"] - d["tp_10"]) > 96) & ((d["tp_50"] - d["tp_10"]) >= 16)
            valid_t0 = (t0 > 47000) & (t0 < 55000)
            tmax = (d["tp_max"] > 47000) & (d["tp_max"] < 120000)
            hit = ours[f"{channel}/hit"]
            expected1 = rt.astype(np.uint8) | valid_t0 << 1 | tmax << 2
            np.testing.assert_array_equal(hit["aggr1"][()], expected1)
            np.testing.assert_array_equal(hit["aggr2"][()], valid_t0 | tmax.astype(np.uint8) << 1)
            assert hit["aggr1"].dtype == np.uint8
            assert hit["aggr1"].attrs["bit_names"] == "is_valid_rt,is_valid_t0,is_valid_tmax"
