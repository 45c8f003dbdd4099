"""CoMPASS: a 2-byte header word, then fixed-layout events decoded as one structured view."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError, NotFoundError
from tierflow.raw._decoder import DataDecoder, DecodedValue, Kind, RowBlock
from tierflow.raw._source import ByteSource
from tierflow.raw._streamer import DataStreamer
from tierflow.types import DataObject, Scalar, Struct

__all__ = [
    "CompassEventDecoder",
    "CompassHeaderDecoder",
    "CompassStreamer",
    "make_key",
    "read_settings",
]

SAMPLE_RATE = {"DT5730": 0.5, "DT5725": 0.25}
"""Samples per ns of the digitiser models (the XML gives record lengths in ns)."""


def make_key(board: npt.ArrayLike, channel: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The anchor's key of a board and channel: ``(board << 9) + (channel & 0xF)``."""
    return (np.asarray(board, np.int64) << 9) + (np.asarray(channel, np.int64) & 0xF)


def _text(el: ET.Element | None) -> str:
    return "" if el is None or el.text is None else el.text.strip()


def _board_struct(board: ET.Element) -> Struct:
    model = _text(board.find("modelName"))
    if model not in SAMPLE_RATE:
        raise NotFoundError(
            f"no sample rate known for CoMPASS board model {model!r}",
            obj=model,
            candidates=list(SAMPLE_RATE),
        )
    params = {_text(e.find("key")): e.find("value") for e in board.iterfind("parameters/entry")}
    if "SRV_PARAM_RECLEN" not in params:
        raise FormatError("CoMPASS settings: the board has no SRV_PARAM_RECLEN (record length)")
    reclen = float(_text(params["SRV_PARAM_RECLEN"].find("value")))  # type: ignore[union-attr]
    channels = Struct()
    for ch in board.iterfind("channel"):
        entries = list(ch.iterfind("values/entry"))
        if len(entries) < 2:
            continue
        fields = Struct()
        for e in entries:
            key, value = _text(e.find("key")), e.find("value")
            if value is None and key in params:
                value = params[key].find("value")  # type: ignore[union-attr]
            fields[key] = Scalar(_text(value))
        channels[_text(ch.find("index"))] = fields
    return Struct(
        {
            "modelName": Scalar(model),
            "adcBitCount": Scalar(_text(board.find("adcBitCount"))),
            "sample_rate": Scalar(SAMPLE_RATE[model]),
            "wf_len": Scalar(reclen * SAMPLE_RATE[model]),
            "channels": channels,
        }
    )


_VALUE_SCHEMA_TYPE = re.compile(rb' xsi:type="[^"]*" xmlns:xs="[^"]*" xmlns:xsi="[^"]*"')
"""The XML-schema type CoMPASS gives every value, with the namespaces it declares anew each
time (the reader takes every value as text)."""


def _without_descriptors(xml: bytes) -> bytes:
    """The settings without the parameters' ``<descriptor>`` blocks (allowed values,
    defaults and display hints, none of it read) and the values' schema types: on CoMPASS's
    files the XML parser then has about a third of the text to build a tree of."""
    parts, start = [], 0
    while (begin := xml.find(b"<descriptor>", start)) >= 0:
        end = xml.find(b"</descriptor>", begin)
        if end < 0:
            break
        parts.append(xml[start:begin])
        start = end + len(b"</descriptor>")
    parts.append(xml[start:])
    return _VALUE_SCHEMA_TYPE.sub(b"", b"".join(parts))


def _boards_of(root: ET.Element) -> Struct:
    """The boards of a parsed CoMPASS settings XML."""
    return Struct({str(i): _board_struct(b) for i, b in enumerate(root.iterfind("board"))})


def read_settings(path: str | Path) -> Struct:
    """The boards of a CoMPASS settings XML: model, ADC bits, sample rate, wf_len, channels."""
    xml = Path(path).read_bytes()
    try:
        root = ET.fromstring(_without_descriptors(xml))
    except ET.ParseError:  # laid out unlike CoMPASS's own files: the whole text
        root = ET.fromstring(xml)
    return _boards_of(root)


class CompassHeaderDecoder(DataDecoder):
    """The file header word's flags, with the settings XML's boards when given."""

    name = "CompassHeaderDecoder"

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return []


class CompassEventDecoder(DataDecoder):
    """CoMPASS events: one row per event, keyed by board and channel."""

    name = "CompassEventDecoder"

    def __init__(self, keys: list[int] | None = None, wf_len: int = 0) -> None:
        super().__init__()
        self.keys = keys or [
            int(k) for k in make_key(np.repeat(np.arange(4), 16), np.tile(np.arange(16), 4))
        ]
        self.decoded_values["waveform"] = self.decoded_values["waveform"].with_(length=wf_len)

    @classmethod
    def default_values(cls) -> list[DecodedValue]:
        return [
            DecodedValue("packet_id", "uint32"),
            DecodedValue("board", "uint32"),
            DecodedValue("channel", "uint32"),
            DecodedValue("timestamp", "float64", units="ps"),
            DecodedValue("energy", "uint32"),
            DecodedValue("energy_calibrated", "float64"),
            DecodedValue("energy_short", "uint32"),
            DecodedValue("flags", "uint32"),
            DecodedValue("num_samples", "int64"),
            # the anchor writes dt = 16 ns whatever the board; kept for compatibility
            DecodedValue("waveform", "uint16", Kind.WAVEFORM, dt=16.0),
        ]

    def key_lists(self) -> list[list[Any]]:
        return [list(self.keys)]


class CompassStreamer(DataStreamer):
    """CAEN CoMPASS ``.BIN`` files; pass ``compass_config_file`` for the settings XML."""

    name = "Compass"

    def __init__(self, compass_config_file: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.config_file = compass_config_file
        self.flags: dict[str, int] = {}
        self.layout: np.dtype[Any] | None = None
        self.boards: Struct | None = None

    @classmethod
    def is_stream(cls, head: bytes) -> bool:
        return len(head) >= 2 and head[1] == 0xCA

    def read_header(self, source: ByteSource) -> list[tuple[str, DataObject]]:
        head = source.peek(2)
        if not self.is_stream(head):
            raise FormatError(
                f"{source.name}: no CoMPASS header word (0xCAxx) at the start", file=source.name
            )
        word = int.from_bytes(head, "little")
        self.flags = {
            "energy_channels": word & 1,
            "energy_calibrated": (word >> 1) & 1,
            "energy_short": (word >> 2) & 1,
            "waveform_samples": (word >> 3) & 1,
            "header_present": 1,
        }
        source.read(2)
        self.boards = read_settings(self.config_file) if self.config_file else None
        first = source.peek(64)
        self.layout = self._layout(self._wf_len(first))
        header = Struct({k: Scalar(np.int64(v)) for k, v in sorted(self.flags.items())})
        if self.boards is not None:
            header["boards"] = self.boards
        return [(CompassHeaderDecoder.name, header)]

    def _prefix(self) -> list[tuple[str, str]]:
        f = self.flags
        fields = [("board", "<u2"), ("channel", "<u2"), ("timestamp", "<u8")]
        fields += [("energy", "<u2")] * f["energy_channels"] + [("energy_calibrated", "<f8")] * f[
            "energy_calibrated"
        ]
        fields += [("energy_short", "<u2")] * f["energy_short"] + [
            ("flags", "<u4"),
            ("code", "u1"),
            ("num_samples", "<u4"),
        ]
        return fields

    def _wf_len(self, first: bytes) -> int:
        if self.boards is not None:
            board: Any = self.boards["0"]
            return int(board["wf_len"].value)
        if not self.flags["waveform_samples"]:
            return 0
        off = np.dtype(self._prefix()).itemsize - 4
        return int.from_bytes(first[off : off + 4], "little") if len(first) >= off + 4 else 0

    def _layout(self, wf_len: int) -> np.dtype[Any]:
        return np.dtype([*self._prefix(), ("wf", "<u2", (wf_len,))])

    def make_decoders(self) -> list[DataDecoder]:
        keys = None
        if self.boards is not None:
            keys = [
                int(make_key(int(b), int(c)))
                for b in self.boards
                for c in self.boards[b]["channels"]  # type: ignore[index]
            ]
        assert self.layout is not None
        return [CompassHeaderDecoder(), CompassEventDecoder(keys, self.layout["wf"].shape[0])]

    def process(
        self, buf: npt.NDArray[np.uint8], offset: int, final: bool
    ) -> tuple[int, list[tuple[str, RowBlock]]]:
        assert self.layout is not None
        size = self.layout.itemsize
        n = buf.size // size
        rec = buf[: n * size].view(self.layout)
        good = rec["num_samples"] == self.layout["wf"].shape[0]
        k = n if good.all() else int(np.argmin(good))
        out = [(CompassEventDecoder.name, self._block(rec[:k]))] if k else []
        if k < n:
            pos = k * size
            out.append(
                self.warn_garbage(
                    offset + pos,
                    1,
                    buf[pos : pos + size],
                    "waveform length differs from the file's",
                )
            )
            return pos + size, out
        return k * size, out

    def _block(self, rec: npt.NDArray[Any]) -> RowBlock:
        n = rec.size
        names = rec.dtype.names or ()
        cols: dict[str, Any] = {
            "packet_id": self.next_packet_ids(n),
            "board": rec["board"],
            "channel": rec["channel"],
            "timestamp": rec["timestamp"].astype(np.float64),
            "energy": rec["energy"] if "energy" in names else np.zeros(n),
            "energy_calibrated": rec["energy_calibrated"]
            if "energy_calibrated" in names
            else np.full(n, np.nan),
            "energy_short": rec["energy_short"] if "energy_short" in names else np.zeros(n),
            "flags": rec["flags"],
            "num_samples": rec["num_samples"],
            "waveform": rec["wf"],
        }
        return RowBlock(make_key(rec["board"], rec["channel"]), cols)
