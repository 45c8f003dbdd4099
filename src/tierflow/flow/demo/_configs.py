"""The demo's production: tier configs for simulated HPGe and SiPM channels."""

from __future__ import annotations

from typing import Any

from tierflow.flow.sim import Detectors

__all__ = ["evt_config", "geds_dsp", "geds_hit", "production", "spms_dsp", "spms_hit"]

FILE_KEYS = "{experiment}-{period}-{run}-{datatype}-{timestamp}"
RUN_KEYS = "{experiment}-{period}-{run}-{datatype}"


def geds_dsp() -> dict[str, Any]:
    """Baseline, pole-zero, trapezoid: trapEmax, and the waveform maximum and its time."""
    return {
        "outputs": ["timestamp", "bl_mean", "bl_std", "trapEmax", "tp_max", "wf_max"],
        "processors": {
            "wf_blsub": "bl_subtract(waveform, baseline, wf_blsub(unit='ADC'))",
            "bl_mean, bl_std, bl_slope, bl_intercept": {
                "function": "linear_slope_fit",
                "module": "dspeed.processors",
                "args": ["wf_blsub[0:300]", "bl_mean", "bl_std", "bl_slope", "bl_intercept"],
                "unit": ["ADC", "ADC", "ADC", "ADC"],
            },
            "wf_pz": {
                "function": "pole_zero",
                "module": "dspeed.processors",
                "args": ["wf_blsub", "db.pz.tau", "wf_pz"],
                "unit": "ADC",
                "defaults": {"db.pz.tau": "150*us"},
            },
            "wf_trap": {
                "function": "trap_norm",
                "module": "dspeed.processors",
                "args": ["wf_pz", "4*us", "1*us", "wf_trap"],
                "unit": "ADC",
            },
            "trapEmax": {
                "function": "amax",
                "module": "numpy",
                "args": ["wf_trap", 1, "trapEmax"],
                "kwargs": {"signature": "(n),()->()", "types": ["fi->f"]},
                "unit": "ADC",
            },
            "tp_min, tp_max, wf_min, wf_max": {
                "function": "min_max",
                "module": "dspeed.processors",
                "args": ["wf_blsub", "tp_min", "tp_max", "wf_min", "wf_max"],
                "unit": ["ns", "ns", "ADC", "ADC"],
            },
        },
    }


def spms_dsp() -> dict[str, Any]:
    """The pulse height of SiPM traces and when it peaks."""
    config = geds_dsp()
    config["outputs"] = ["timestamp", "bl_mean", "bl_std", "tp_max", "wf_max"]
    for name in ("wf_pz", "wf_trap", "trapEmax"):
        del config["processors"][name]
    return config


def geds_hit() -> dict[str, Any]:
    """Calibrated energy from the store's ``energy_cal`` constants, and a baseline flag."""
    ref = {"calib": "energy_cal", "key": "trapEmax.parameters.{}"}
    return {
        "outputs": ["timestamp", "trapEmax_cal", "is_valid_bl"],
        "operations": {
            "trapEmax_cal": {
                "expression": "a + b * trapEmax",
                "parameters": {p: {**ref, "key": ref["key"].format(p)} for p in "ab"},
                "lgdo_attrs": {"units": "keV"},
            },
            "is_valid_bl": {"expression": "bl_std < 10"},
        },
    }


def spms_hit() -> dict[str, Any]:
    """Photoelectrons (nominal gain) and a light flag."""
    return {
        "outputs": ["timestamp", "npe", "is_light"],
        "operations": {
            "npe": {"expression": "wf_max / 32"},
            "is_light": {"expression": "wf_max > 16"},
        },
    }


def evt_config(detectors: Detectors) -> dict[str, Any]:
    """Events: HPGe multiplicity and energies, SiPM light, a LAr-veto-like flag."""
    geds = [c.name for c in detectors.channels if c.kind == "geds"]
    spms = [c.name for c in detectors.channels if c.kind == "spms"]
    return {
        "channels": {"geds_on": geds, "spms_on": spms},
        "outputs": [
            "timestamp", "multiplicity", "energy", "energy_sum", "energy_id",
            "spms_multiplicity", "spms_npe", "is_lar_vetoed",
        ],
        "operations": {
            "timestamp": {"channels": ["geds_on", "spms_on"],
                          "aggregation_mode": "first_at:dsp.tp_max",
                          "expression": "dsp.timestamp", "lgdo_attrs": {"units": "s"}},
            "multiplicity": {"channels": "geds_on", "aggregation_mode": "sum",
                             "expression": "hit.trapEmax_cal > 25", "initial": 0},
            "energy": {"channels": "geds_on", "aggregation_mode": "gather",
                       "query": "hit.trapEmax_cal > 25", "expression": "hit.trapEmax_cal"},
            "energy_sum": {"channels": "geds_on", "aggregation_mode": "sum",
                           "query": "hit.trapEmax_cal > 25", "expression": "hit.trapEmax_cal",
                           "initial": 0},
            "energy_id": {"channels": "geds_on", "aggregation_mode": "first_at:dsp.tp_max",
                          "query": "hit.trapEmax_cal > 25", "expression": "tcm.table_key",
                          "initial": 0},
            "spms_multiplicity": {"channels": "spms_on", "aggregation_mode": "sum",
                                  "expression": "hit.is_light", "initial": 0},
            "spms_npe": {"channels": "spms_on", "aggregation_mode": "sum",
                         "expression": "hit.npe", "initial": 0},
            "is_lar_vetoed": {"expression": "evt.spms_multiplicity >= 2"},
        },
    }  # fmt: skip


def production(detectors: Detectors) -> dict[str, Any]:
    """The production config: every tier, output templates, tier configs, the calib store."""
    keys = [c.key for c in detectors.channels]
    return {
        "format_version": 1,
        "inputs": f"daq/{FILE_KEYS}.fcio",
        "outputs": {
            "raw": f"tier/raw/{FILE_KEYS}_raw.lh5",
            "dsp": f"tier/dsp/{FILE_KEYS}_dsp.lh5",
            "pargen": f"par/{RUN_KEYS}_energy_cal.json",
            "hit": f"tier/hit/{FILE_KEYS}_hit.lh5",
            "tcm": f"tier/tcm/{FILE_KEYS}_tcm.lh5",
            "evt": f"tier/evt/{FILE_KEYS}_evt.lh5",
        },
        "tiers": ["raw", "dsp", "pargen", "hit", "tcm", "evt"],
        "tier_config": {
            "raw": {"out_spec": {"FCEventDecoder": {"ch{key}": {
                "key_list": keys, "out_stream": "{out_file}:/ch{key}", "out_name": "raw"}}}},
            "dsp": {"tables": {"ch1*": "config/dsp_geds.yaml", "ch2*": "config/dsp_spms.yaml"},
                    "database": "config/dsp_db.yaml"},
            "pargen": {"field": "trapEmax", "tables": "ch1*/dsp", "ctype": "energy_cal"},
            "hit": {"tables": {"ch1*": "config/hit_geds.yaml", "ch2*": "config/hit_spms.yaml"}},
            "tcm": {"tables": "ch*/raw", "coin_cols": "timestamp", "coin_windows": 1e-6},
            "evt": {"config": "config/evt.yaml"},
        },
        "calib": {"store": "calib"},
    }  # fmt: skip
