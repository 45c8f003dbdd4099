"""Event functions for ``aggregation_mode: function`` and channel-list sources, registered in
:data:`tierflow.evt.EVT_FUNCTIONS` and :data:`tierflow.evt.CHANNEL_SOURCES` under the
anchor's module paths (``pygama.evt.modules.<module>.<function>``).

- :mod:`.spms`: SiPM pulse data (``gather_pulse_data``, ``gather_tcm_data``,
  ``make_pulse_data_mask``).
- :mod:`.larveto`: the LAr-veto classifier (``spms.geds_coincidence_classifier``), its time
  and amplitude pdfs.
- :mod:`.geds`: HPGe recovery cut, cross-talk correction and recalibration
  (``geds.apply_recovery_cut``, ``geds.apply_xtalk_correction``,
  ``geds.apply_xtalk_correction_and_calibrate``); the matrix algebra is in :mod:`.xtalk`.
- :mod:`.legend`: channel lists from metadata (``legend.metadata``) and
  ``legend.convert_rawid``.
"""

from __future__ import annotations

from tierflow.evt.modules import geds, larveto, legend, spms, xtalk

__all__ = ["geds", "larveto", "legend", "spms", "xtalk"]
