"""Make ``sipm-dspeed-2.4.3.lh5``: dspeed's SiPM config, with its intermediate outputs.

Run with dspeed 2.4.3 installed (its own environment, not tierflow's)::

    python make_sipm_reference.py \\
        ../../../../shared/testdata/legend/lh5/L200-comm-20211130-phy-spms.lh5 \\
        ../../../../shared/reference/legend/configs/dspeed-sipm-dsp-config.json

The waveform-length intermediates (``wf_gaus``, ``curr``) are left out to keep the file small.
"""

import sys

from dspeed import build_dsp

OUTPUTS = [
    "energies",
    "trigger_pos",
    "no_out",
    "hist_weights",
    "hist_borders",
    "fwhm",
    "idx_out_c",
    "max_out",
    "vt_max_candidate_out",
    "vt_min_out",
    "n_max_out",
    "n_min_out",
    "gaus_kernel",
]

if __name__ == "__main__":
    raw, config = sys.argv[1:3]
    build_dsp(
        raw,
        "sipm-dspeed-2.4.3.lh5",
        dsp_config=config,
        outputs=OUTPUTS,
        write_mode="r",
    )
