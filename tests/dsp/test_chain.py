"""The chain and its config: expressions, units, slices, database lookups and helpful errors."""

from __future__ import annotations

import numpy as np
import pytest

from tierflow.dsp import ProcessingChain, make_processing_chain
from tierflow.dsp._expr import names_in
from tierflow.dsp._units import quantity
from tierflow.errors import ConfigError, NotFoundError
from tierflow.types import Array, Table, WaveformTable


def raw_table(n: int = 5, length: int = 400) -> Table:
    rng = np.random.default_rng(0)
    values = (1000 + rng.normal(0, 2, size=(n, length))).astype(np.uint16)
    values[:, 200:] += 500
    return Table(
        {
            "waveform": WaveformTable(
                values=values,
                dt=np.full(n, 16.0, "float32"),
                dt_units="ns",
                t0=np.full(n, 32.0, "float32"),
                t0_units="ns",
            ),
            "baseline": Array(np.full(n, 1000, np.uint16)),
            "timestamp": Array(np.arange(n, dtype=float), attrs={"units": "s"}),
        }
    )


CONFIG = {
    "outputs": ["timestamp", "trapE", "tp_max", "tp_half", "bl_mean", "ratio", "shifted"],
    "processors": {
        "wf_blsub": "bl_subtract(waveform, baseline, wf_blsub(unit='ADC'))",
        "wf_trap": {
            "function": "trap_norm",
            "module": "dspeed.processors",
            "args": ["wf_blsub", "db.trap.rise", "db.trap.flat", "wf_trap"],
            "defaults": {"db.trap.rise": "320*ns", "db.trap.flat": "160*ns"},
            "unit": "ADC",
        },
        "trapE": {
            "function": "numpy.amax(wf_trap, 1, trapE)",
            "kwargs": {"signature": "(n),()->()", "types": ["fi->f"]},
            "unit": "ADC",
        },
        "tp_min, tp_max, a_min, a_max": {
            "function": "min_max",
            "module": "dspeed.processors",
            "args": ["wf_trap", "tp_min", "tp_max", "a_min", "a_max"],
            "unit": ["ns", "ns", "ADC", "ADC"],
        },
        "tp_half": {
            "function": "time_point_thresh",
            "module": "dspeed.processors",
            "args": ["wf_blsub", "trapE*0.5", "tp_max", 0, "tp_half"],
            "unit": "ns",
        },
        "bl_mean, bl_std, bl_slope, bl_int": {
            "function": "linear_slope_fit",
            "module": "dspeed.processors",
            "args": [
                "wf_blsub[0:round(1.6*us, wf_blsub.period)]",
                "bl_mean",
                "bl_std",
                "bl_slope",
                "bl_int",
            ],
            "unit": ["ADC"] * 4,
        },
        "ratio": "trapE / a_max",
        "shifted": "tp_max + 1*us",
    },
}


def test_a_chain_computes_what_the_config_says() -> None:
    table = raw_table()
    out = make_processing_chain(CONFIG, table).process(table)
    assert list(out.keys()) == CONFIG["outputs"]
    np.testing.assert_allclose(out["trapE"].nda, 500, atol=3)
    # times in ns on the waveform's clock, t0 = 32 ns included
    tp_max = out["tp_max"].nda
    assert ((tp_max - 32) % 16 == 0).all()
    assert out["tp_max"].attrs["units"] == "ns"
    assert (out["tp_half"].nda > 32 + 16 * 195).all()
    assert (out["tp_half"].nda < 32 + 16 * 215).all()
    np.testing.assert_allclose(out["shifted"].nda, tp_max + 1000)
    np.testing.assert_allclose(out["ratio"].nda, 1.0)
    assert out["ratio"].attrs["units"] == "ADC/ADC"
    np.testing.assert_allclose(out["bl_mean"].nda, 0, atol=1)
    np.testing.assert_array_equal(out["timestamp"].nda, table["timestamp"].nda)
    assert out["timestamp"].attrs["units"] == "s"


def test_block_width_does_not_change_results() -> None:
    table = raw_table(n=37)
    a = make_processing_chain(CONFIG, table, block_width=4).process(table)
    b = make_processing_chain(CONFIG, table, block_width=64).process(table)
    for name in CONFIG["outputs"]:
        np.testing.assert_array_equal(a[name].nda, b[name].nda)


def test_database_values_override_defaults() -> None:
    table = raw_table()
    db = {"trap": {"rise": "640*ns", "flat": "160*ns"}}
    out = make_processing_chain(CONFIG, table, db=db, outputs=["trapE"]).process(table)
    np.testing.assert_allclose(out["trapE"].nda, 500, atol=3)


def test_only_what_the_outputs_need_is_computed() -> None:
    bound = make_processing_chain(CONFIG, raw_table(), outputs=["bl_mean"])
    labels = " ".join(s.label for s in bound.chain.steps)
    assert "linear_slope_fit" in labels
    assert "trap_norm" not in labels
    assert bound.fields == ["waveform", "baseline"]


def test_config_is_not_modified() -> None:
    import copy

    before = copy.deepcopy(CONFIG)
    make_processing_chain(CONFIG, raw_table())
    assert before == CONFIG


@pytest.mark.parametrize(
    ("processors", "error", "match"),
    [
        ({"x": "trap_nrom(waveform, 10, 5, x)"}, NotFoundError, "trap_norm"),
        (
            {"x": {"function": "trap_norm", "args": ["waveform", "db.a.b", 5, "x"]}},
            NotFoundError,
            "db.a.b",
        ),
        ({"x": "__import__('os').system('true')"}, ConfigError, "dotted module name"),
        ({"x": "waveform.__class__"}, ConfigError, "not allowed"),
        ({"x": "y + 1", "y": "x + 1"}, ConfigError, "circular"),
        ({"x": "wavefrom * 2"}, NotFoundError, "waveform"),
        ({"x": {"function": "trap_norm", "funtcion": 1, "args": []}}, NotFoundError, "function"),
    ],
)
def test_bad_configs_give_clear_errors(processors: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make_processing_chain({"outputs": ["x"], "processors": processors}, raw_table())


def test_units_and_names() -> None:
    assert quantity(10, "us") / quantity(16, "ns") == 625.0
    assert names_in("round(tp_0 + 10*us, wf.grid)") == ["tp_0", "wf"]
    assert names_in("wf_out(len(wf_in), 'f')") == ["wf_out", "wf_in"]


def test_processing_chain_api() -> None:
    from tierflow.dsp.processors import PROCESSORS

    chain = ProcessingChain(block_width=4)
    chain.add_variable("wf", shape=(50,), dtype="float32")
    chain.add_processor(PROCESSORS["trap_norm"], ["wf", 10, 5, "wf_trap"])
    out = chain.run({"wf": np.ones((6, 50), dtype="float32")}, ["wf_trap"])
    assert out["wf_trap"].shape == (6, 50)
    np.testing.assert_allclose(
        out["wf_trap"][:, :10], np.tile(np.arange(1, 11) / 10, (6, 1)), rtol=1e-6
    )


def _shifted_rows_table(n: int = 6) -> Table:
    """Waveforms sampled every 16 ns whose t0 differ from row to row, given in us."""
    values = np.tile(np.arange(64, dtype=np.uint16), (n, 1))
    t0 = np.arange(n, dtype=np.float32) * 0.5  # us
    return Table(
        {
            "waveform": WaveformTable(
                values=values, dt=np.full(n, 16.0), dt_units="ns", t0=t0, t0_units="us"
            )
        }
    )


def test_waveform_outputs_are_waveform_tables_with_each_rows_t0() -> None:
    config = {
        "outputs": ["wf_x2", "wf_tail", "wf_sum", "wf_fixed"],
        "processors": {
            "wf_x2": {
                "function": "multiply",
                "module": "numpy",
                "args": ["waveform", 2, "wf_x2"],
                "unit": "ADC",
                "description": "twice",
            },
            "wf_tail": "wf_x2[10:]",
            "wf_sum, ps": {
                "function": "presum",
                "module": "dspeed.processors",
                "args": [
                    "waveform",
                    0,
                    "ps",
                    "wf_sum(len(waveform)//4, 'f', "
                    "period=waveform.period*4, offset=waveform.offset)",
                ],
            },
            "wf_fixed, ps2": {
                "function": "presum",
                "module": "dspeed.processors",
                "args": ["waveform", 1, "ps2", "wf_fixed(16, 'f', period=64*ns, offset=2*us)"],
            },
        },
    }
    table = _shifted_rows_table()
    out = make_processing_chain(config, table, block_width=4).process(table)
    t0_ns = table["waveform"]["t0"].nda * 1000
    x2 = out["wf_x2"]
    assert isinstance(x2, WaveformTable)
    np.testing.assert_array_equal(x2["values"].nda, 2 * table["waveform"]["values"].nda)
    np.testing.assert_allclose(x2["t0"].nda, t0_ns)  # us converted to the grid's ns
    np.testing.assert_allclose(x2["dt"].nda, 16)
    assert x2["t0"].attrs["units"] == x2["dt"].attrs["units"] == "ns"
    assert x2.attrs["description"] == "twice"
    assert x2.attrs["units"] == "ADC"
    assert "description" not in x2["values"].attrs
    np.testing.assert_allclose(out["wf_tail"]["t0"].nda, t0_ns + 160)  # 10 samples later
    np.testing.assert_allclose(out["wf_sum"]["t0"].nda, t0_ns)
    np.testing.assert_allclose(out["wf_sum"]["dt"].nda, 64)
    np.testing.assert_allclose(out["wf_fixed"]["t0"].nda, 2000)  # a fixed offset: no row's t0
    np.testing.assert_allclose(out["wf_fixed"]["values"].nda[0, :2], [1.5, 5.5])


def test_the_offset_of_a_shifted_waveform_with_row_t0_is_a_clear_error() -> None:
    config = {
        "outputs": ["wf_sum"],
        "processors": {
            "wf_tail": "waveform[4:]",
            "wf_sum, ps": {
                "function": "presum",
                "module": "dspeed.processors",
                "args": [
                    "wf_tail",
                    0,
                    "ps",
                    "wf_sum(15, 'f', period=wf_tail.period*4, offset=wf_tail.offset)",
                ],
            },
        },
    }
    with pytest.raises(ConfigError, match="offset of wf_tail"):
        make_processing_chain(config, _shifted_rows_table())
