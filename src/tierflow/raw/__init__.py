"""The raw tier: DAQ files (FlashCam FCIO, ORCA, CoMPASS, LlamaDAQ) decoded into LH5 tables.

Bytes come from a source (:class:`FileSource`, :class:`MemorySource`); a streamer of each
format frames packets and hands them to its decoders; decoded rows are routed to
:class:`RawBuffer` s by key, as the anchor's out_spec shorthand (:class:`RawBufferLibrary`)
says; :func:`build_raw` writes them to LH5 under temporary names renamed at the end.

Example
-------
>>> from tierflow.raw import build_raw
>>> build_raw("run.fcio", out_spec={"FCEventDecoder": {"ch{key}": {"key_list": ["*"],
...           "out_stream": "run_raw.lh5"}}}, overwrite=True)  # doctest: +SKIP
"""

from __future__ import annotations

from tierflow.raw._buffer import RawBuffer, RawBufferLibrary, RawBufferList, expand_rblist_dict
from tierflow.raw._build import (
    HDF5_PRESETS,
    Hdf5Preset,
    build_raw,
    detect_stream_type,
    make_streamer,
)
from tierflow.raw._decoder import DataDecoder, DecodedValue, Jagged, Kind, RowBlock, make_table
from tierflow.raw._proc import process_buffer
from tierflow.raw._source import ByteSource, FileSource, MemorySource, make_source
from tierflow.raw._streamer import ChunkMode, DataStreamer, DecodeWarning, HeaderBuffer

__all__ = [
    "HDF5_PRESETS",
    "ByteSource",
    "ChunkMode",
    "DataDecoder",
    "DataStreamer",
    "DecodeWarning",
    "DecodedValue",
    "FileSource",
    "Hdf5Preset",
    "HeaderBuffer",
    "Jagged",
    "Kind",
    "MemorySource",
    "RawBuffer",
    "RawBufferLibrary",
    "RawBufferList",
    "RowBlock",
    "build_raw",
    "detect_stream_type",
    "expand_rblist_dict",
    "make_source",
    "make_streamer",
    "make_table",
    "process_buffer",
]
