"""The LEGEND waveform codecs, byte-compatible with the LEGEND anchor (legend-lh5io).

Two lossless integer-waveform codecs of the LEGEND data-format specification, each a
small frozen dataclass whose :meth:`~WaveformCodec.to_dict` form is written as HDF5
attributes next to the encoded data:

* :class:`RadwareSigcompress` (``codec = "radware_sigcompress"``, with ``codec_shift``);
* :class:`ULEB128ZigZagDiff` (``codec = "uleb128_zigzag_diff"``).

:func:`encode` turns many waveforms into a jagged byte array (bytes plus a uint32
``cumulative_length``); :func:`decode` turns it back. The work is done by numba kernels,
compiled on first use and cached on disk, so importing this module compiles nothing.

Examples
--------
>>> import numpy as np
>>> from tierflow.codecs import decode, encode, parse_codec
>>> codec = parse_codec({"codec": "radware_sigcompress", "codec_shift": -32768})
>>> wfs = np.array([[14000, 14003, 13998], [15000, 15200, 15100]], dtype=np.uint16)
>>> data, ends = encode(codec, wfs)
>>> (decode(codec, data, ends, 3, np.uint16) == wfs).all()
np.True_
"""

from __future__ import annotations

from tierflow.codecs._api import decode, encode
from tierflow.codecs._base import CODECS, RadwareSigcompress, ULEB128ZigZagDiff, WaveformCodec
from tierflow.codecs._parse import CodecSpec, parse_codec

__all__ = [
    "CODECS",
    "CodecSpec",
    "RadwareSigcompress",
    "ULEB128ZigZagDiff",
    "WaveformCodec",
    "decode",
    "encode",
    "parse_codec",
]
