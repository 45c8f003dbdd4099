"""Event functions for ``aggregation_mode: function``, registered in
:data:`tierflow.evt.EVT_FUNCTIONS` under the anchor's module paths.

- :mod:`.spms`: SiPM pulse data (``gather_pulse_data``, ``gather_tcm_data``,
  ``make_pulse_data_mask``).
"""

from __future__ import annotations

from tierflow.evt.modules import spms

__all__ = ["spms"]
