"""What each FlashCam field is: the ``description`` attribute the anchor (legend-daq2lh5) writes
for the fields of FCIO configs, events, event headers and status records, of the FSP software
trigger's records, and of ORCA's FlashCam listener waveforms. Kept as data, so that the
files read the same in ``lh5ls`` and to anyone who looks at the attributes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from tierflow.raw._decoder import DecodedValue

__all__ = ["DESCRIPTIONS", "FSP_FIELDS", "PACKET_ID", "STATUS_FIELDS", "described"]

PACKET_ID = "The index of this decoded packet in the file."
"""The packet id's description in config and event tables."""
STATUS_FIELDS = {
    "packet_id": "Packet index in file.",
    "eventnumber": "The eventcounter when the status was requested.",
}
"""The fields whose status-record description differs from the event's."""
FSP_FIELDS = {"packet_id": ""}
"""The FSP trigger records' packet id is described by an empty text."""

DESCRIPTIONS: dict[str, str] = {
    "abs_delta_mu_usec": "The absolute value of `delta_mu_usec`.",
    "adc_temps": (
        "If the card has adc daughter (piggy) boards mounted, each daughter has a temperature"
        " sensor."
    ),
    "adcbits": "bit range of the adc channels",
    "adccards": "number of attached fadccards",
    "baseline": "The baseline determined by the FPGA baseline algorithm.",
    "blprecision": "precision of the fpga baseline",
    "board_id": "The MAC address of the FlashCam board which recorded this event.",
    "buffer_max_states": "",
    "buffer_window_nsec": "",
    "channel": "The index of each read out channel in this stream.",
    "cti_links": "CTI debugging values, for experts only.",
    "daqenergy": (
        "The shaped pulse peak height above the trigger threshold for 62.5MHz mode. The "
        "waveform integral over `sumlength` samples in 250MHz mode."
    ),
    "deadinterval_nsec": (
        "The interval the board was dead between previous event and this event in nanoseconds"
        " with 4ns precision (due to the internal clock speed of 250MHz)."
    ),
    "deadtime": (
        "The accumulated time for which the hardware buffers were full (dead). Recorded per "
        "channel."
    ),
    "delta_mu_usec": "The clock offset in microseconds between fpga and server for aligned clocks.",
    "dr_ch_idx": (
        "The start channel index of channels which are affected by the recorded dead interval."
    ),
    "dr_ch_len": (
        "The number of channels which are affected by the dead interval, starts from "
        "`dr_ch_idx`. Can be larger than `num_traces`."
    ),
    "dr_maxticks": (
        "The ticks counter value on PPS when the hardware buffers were freed, before this "
        "event. Only changes if a new value is acquired."
    ),
    "dr_start_pps": (
        "The PPS counter value when the hardware buffers were full (dead), before this event."
        " Only changes if a new value is acquired."
    ),
    "dr_start_ticks": (
        "The ticks counter value when the hardware buffers were full (dead), before this "
        "event. Only changes if a new value is acquired."
    ),
    "dr_stop_pps": (
        "The PPS counter value when the hardware buffers are free (life) again, before this "
        "event. Only changes if a new value is acquired."
    ),
    "dr_stop_ticks": (
        "The ticks counter value when the hardware buffers are free (life) again, before this"
        " event. Only changes if a new value is acquired."
    ),
    "dsp_ct_thresholds": "",
    "dsp_ct_tracemap_enabled": "",
    "dsp_ct_tracemap_format": "",
    "dsp_ct_tracemap_indices": "",
    "dsp_ct_tracemap_label": "",
    "dsp_hwm_fpga_energy_threshold_adc": "",
    "dsp_hwm_tracemap_enabled": "",
    "dsp_hwm_tracemap_format": "",
    "dsp_hwm_tracemap_indices": "",
    "dsp_hwm_tracemap_label": "",
    "dsp_wps_apply_gain_scaling": "",
    "dsp_wps_dsp_max_margin_back": "",
    "dsp_wps_dsp_max_margin_front": "",
    "dsp_wps_gains": "",
    "dsp_wps_lowpass": "",
    "dsp_wps_margin_back": "",
    "dsp_wps_margin_front": "",
    "dsp_wps_shaping_widths": "",
    "dsp_wps_start_sample": "",
    "dsp_wps_stop_sample": "",
    "dsp_wps_sub_event_sum_threshold": "",
    "dsp_wps_sum_window_size": "",
    "dsp_wps_sum_window_start_sample": "",
    "dsp_wps_sum_window_stop_sample": "",
    "dsp_wps_thresholds": "",
    "dsp_wps_tracemap_enabled": "",
    "dsp_wps_tracemap_format": "",
    "dsp_wps_tracemap_indices": "",
    "dsp_wps_tracemap_label": "",
    "event_type": (
        "Is 1 for shared trigger/readout, or 11 in true sparse mode where ADC boards trigger "
        "independently."
    ),
    "fc_input": (
        "The per-board ADC channel. Corresponds to the input connector in 62.5MHz mode or the"
        " input wire in 250MHz mode."
    ),
    "fcid": "The ID of this data stream.",
    "fpga_start_time": "The start time of the run.",
    "fpga_time": "The clock in the fpga of the highest-level card.",
    "fpga_time_nsec": "The clock in the fpga of the highest-level card.",
    "gps": "gps mode (0: not used, >0: external pps and 10MHz)",
    "id": "The card id (reqid) when checking the status. Don't confuse with the card address.",
    "is_consecutive": "",
    "is_ct_multiplicity": "",
    "is_extended": "",
    "is_hwm_multiplicity": "",
    "is_hwm_prescaled": "",
    "is_wps_coincident_sum": "",
    "is_wps_prescaled": "",
    "is_wps_sum": "",
    "is_written": "",
    "lifetime": (
        "The accumulated lifetime since trigger enable, for which the hardware was not dead. "
        "Recorded per channel."
    ),
    "link_states": "Trigger link debugging values, for experts only.",
    "mastercards": "number of attached mastercards",
    "mb_current": "The current draw of the motherboard.",
    "mb_humidity": "The humidity in permille measured on the motherboard.",
    "mb_temps": "The temperatures measured by sensors on the motherboard.",
    "mb_voltages": "The supply voltages of the motherboard.",
    "mu_offset_sec": "The seconds between server (unix) and fpga time. See `man 2 gettimeofday`.",
    "mu_offset_usec": (
        "The microseconds between server (unix second) and fpga time (pps). See `man 2 "
        "gettimeofday`"
    ),
    "n_cti_errors": "The sum of all CTI connection errors.",
    "n_environment_errors": "The sum of all environment sensor errors.",
    "n_link_errors": "The sum of all trigger link errors.",
    "n_other_errors": "The sum of other errors.",
    "n_total_errors": "The sum of all error counter of all cards.",
    "nadcs": "number of adc channels",
    "nsamples": "samples per channel",
    "ntriggers": "number of triggertraces",
    "obs_ct_max": "",
    "obs_ct_multiplicity": "",
    "obs_ct_trace_idx": "",
    "obs_evt_nconsecutive": "",
    "obs_hwm_hw_multiplicity": "",
    "obs_hwm_max_value": "",
    "obs_hwm_min_value": "",
    "obs_hwm_sw_multiplicity": "",
    "obs_ps_hwm_prescaled_trace_idx": "",
    "obs_wps_max_peak_offset": "",
    "obs_wps_max_peak_value": "",
    "obs_wps_sum_multiplicity": "",
    "obs_wps_sum_offset": "",
    "obs_wps_sum_value": "",
    "runtime": "Time since trigger enable of this run. Recorded per channel.",
    "server_time": "The server time when the status was checked.",
    "status": "True: Ok, False: Errors occurred, check card-wise status.",
    "streamid": "id of stream",
    "sumlength": "length of the fpga integrator",
    "timestamp": "Time since epoch (unix time) for this event.",
    "to_master_sec": (
        "The timeoffset between server (unix) and fpga clocks, only valid when a gps "
        "clock/time server is used and the offset to epoch needs to be adjusted."
    ),
    "to_start_sec": "The seconds of the start time of the run / trigger enable.",
    "to_start_usec": "The microseconds of the start time of the run / trigger enable.",
    "tracelist": "The number of read out adc channels in this event.",
    "trg_enabled_write_flags_event": "",
    "trg_enabled_write_flags_trigger": "",
    "trg_hwm_min_multiplicity": "",
    "trg_hwm_prescale_rate": "",
    "trg_hwm_prescale_ratio": "",
    "trg_post_trigger_window_nsec": "",
    "trg_pre_trigger_window_nsec": "",
    "trg_wps_coincident_sum_threshold": "",
    "trg_wps_prescale_rate": "",
    "trg_wps_prescale_ratio": "",
    "trg_wps_ref_flags_ct": "",
    "trg_wps_ref_flags_hwm": "",
    "trg_wps_ref_flags_wps": "",
    "trg_wps_ref_map_idx": "",
    "trg_wps_sum_threshold": "",
    "triggercards": "number of attached triggercards",
    "ts_maxticks": "The clock ticks counter value when the last PPS arrived.",
    "ts_pps": "The pulse-per-second (PPS) counter since DAQ reset.",
    "ts_ticks": "The clock ticks counter (250MHz) since last PPS.",
    "packet_id": PACKET_ID,
    "eventnumber": (
        "Counts triggered events. Fetched from the master board in non-sparse, or from the ADC "
        "board in sparse."
    ),
}


def described(
    values: Iterable[DecodedValue],
    overrides: Mapping[str, str] | None = None,
    skip: Collection[str] = (),
) -> list[DecodedValue]:
    """`values` with the anchor's description of each field that has none of its own (but
    for the fields in `skip`, which the anchor leaves undescribed in that record).

    Example
    -------
    >>> [v.description for v in described([DecodedValue("fcid", "uint16")])]
    ['The ID of this data stream.']
    """
    texts = {**DESCRIPTIONS, **(overrides or {})}
    return [
        v.with_(description=texts[v.name])
        if v.description is None and v.name in texts and v.name not in skip
        else v
        for v in values
    ]
