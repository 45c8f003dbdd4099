"""A small reader of FITS binary tables from bytes, without astropy's per-column machinery.

DL3 files are a few binary tables with fixed-size columns. Headers are parsed card by card and
each column is a strided numpy view of the table bytes, made when first asked for. Anything
outside that subset (variable-length or bit columns, scaled columns, compressed images) raises
:class:`UnsupportedFeatureError`, and the caller falls back to ``astropy.io.fits``.

Examples
--------
>>> hdus = read_hdus(raw_bytes)                      # doctest: +SKIP
>>> header, table = hdus["EVENTS"]                   # doctest: +SKIP
>>> table["ENERGY"][:3], table.columns["ENERGY"].unit  # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import FormatError

__all__ = ["BinTable", "Column", "UnsupportedFeatureError", "parse_header", "read_hdus"]

_BLOCK = 2880
_CARD = 80
_FORMATS = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8", "L": "i1"}
_FORMATS.update({"C": ">c8", "M": ">c16", "A": "S1"})
_TFORM = re.compile(r"^\s*(\d*)([A-Z])")
_INT = re.compile(r"^[+-]?\d+$")
_COMMENTARY = {"", "COMMENT", "HISTORY", "END"}


class UnsupportedFeatureError(FormatError):
    """The HDU uses a FITS feature this reader leaves to astropy."""


def _parse_string(text: str) -> tuple[str, str]:
    """The quoted string at the start of `text` ('' is a quote) and what follows it."""
    out, k = [], 1
    while k < len(text):
        if text[k] == "'":
            if text[k + 1 : k + 2] == "'":
                out.append("'")
                k += 2
                continue
            return "".join(out).rstrip(), text[k + 1 :]
        out.append(text[k])
        k += 1
    raise UnsupportedFeatureError(f"unterminated string in header value {text!r}")


def _parse_value(text: str) -> Any:
    text = text.strip()
    if text.startswith("'"):
        return _parse_string(text)[0]
    value = text.split("/", 1)[0].strip()
    if value in ("T", "F"):
        return value == "T"
    if _INT.match(value):
        return int(value)
    try:
        return float(value.replace("D", "E"))
    except ValueError:
        raise UnsupportedFeatureError(f"header value {value!r}") from None


def parse_header(raw: bytes | memoryview, start: int) -> tuple[dict[str, Any], int]:
    """Keywords of the header at byte `start` (commentary cards left out) and where it ends.

    A string continued over ``CONTINUE`` cards is joined, as astropy does.
    """
    header: dict[str, Any] = {}
    last_string: str | None = None
    pos = start
    while True:
        if pos + _BLOCK > len(raw):
            raise UnsupportedFeatureError("header without END")
        block = bytes(raw[pos : pos + _BLOCK]).decode("ascii", "replace")
        pos += _BLOCK
        for k in range(0, _BLOCK, _CARD):
            card = block[k : k + _CARD]
            key = card[:8].strip()
            if key == "END":
                return header, pos
            if key == "CONTINUE" and last_string is not None:
                more = _parse_string(card[8:].strip())[0]
                joined = header[last_string][:-1] + more
                header[last_string] = joined
                last_string = last_string if joined.endswith("&") else None
                continue
            if key in _COMMENTARY or card[8:10] != "= ":
                if key == "HIERARCH":
                    raise UnsupportedFeatureError("HIERARCH keywords")
                continue
            value = _parse_value(card[10:])
            header[key] = value
            last_string = key if isinstance(value, str) and value.endswith("&") else None


@dataclass(frozen=True)
class Column:
    """Name, FITS format, unit and dimensions of one table column."""

    name: str
    format: str
    unit: str | None
    dtype: np.dtype[Any]
    shape: tuple[int, ...]


class _Columns:
    """Columns of a table by name, in order (``.names`` like astropy's ColDefs)."""

    def __init__(self, columns: list[Column]) -> None:
        self._by_name = {c.name: c for c in columns}
        self.names = [c.name for c in columns]

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]

    def __iter__(self) -> Any:
        return iter(self._by_name.values())


def _column(header: dict[str, Any], i: int) -> Column:
    tform = str(header[f"TFORM{i}"])
    match = _TFORM.match(tform)
    if match is None or match.group(2) not in _FORMATS:
        raise UnsupportedFeatureError(f"column format {tform!r}")
    if f"TSCAL{i}" in header or f"TZERO{i}" in header:
        raise UnsupportedFeatureError("scaled column")
    repeat, code = int(match.group(1) or 1), match.group(2)
    shape: tuple[int, ...]
    if code == "A":
        dtype, shape = np.dtype(f"S{repeat}"), ()
    else:
        dtype = np.dtype(_FORMATS[code])
        shape = (repeat,) if repeat != 1 else ()
        if f"TDIM{i}" in header:
            dims = [int(d) for d in str(header[f"TDIM{i}"]).strip("() ").split(",")]
            shape = tuple(reversed(dims))
            if int(np.prod(shape)) != repeat:
                raise UnsupportedFeatureError(f"TDIM{i} {dims} does not match {tform!r}")
    unit = header.get(f"TUNIT{i}")
    return Column(str(header[f"TTYPE{i}"]), tform, unit or None, dtype, shape)


class BinTable:
    """Rows of a binary table; ``table[name]`` is the column as a native-order array.

    String columns are returned as ``str`` with trailing blanks removed and logical columns as
    ``bool``, as astropy returns them.
    """

    def __init__(self, header: dict[str, Any], buffer: bytes | memoryview) -> None:
        self.columns = _Columns([_column(header, i + 1) for i in range(int(header["TFIELDS"]))])
        self._n_rows = int(header["NAXIS2"])
        fields = [(c.name, c.dtype, c.shape) for c in self.columns]
        record = np.dtype(fields)
        if record.itemsize != int(header["NAXIS1"]):
            raise UnsupportedFeatureError(
                f"row size {record.itemsize} != NAXIS1 {header['NAXIS1']}"
            )
        self._rows = np.frombuffer(buffer, dtype=record, count=self._n_rows)
        self._cache: dict[str, NDArray[Any]] = {}

    def __len__(self) -> int:
        return self._n_rows

    def __getitem__(self, name: str) -> NDArray[Any]:
        if name not in self._cache:
            column = self.columns[name]
            values = self._rows[name]
            if column.dtype.kind == "S":
                values = np.char.rstrip(values).astype(str)
            elif column.format.lstrip("0123456789").startswith("L"):
                values = values == ord("T")
            else:
                values = values.astype(values.dtype.newbyteorder("="))
            self._cache[name] = values
        return self._cache[name]


def read_hdus(raw: bytes) -> dict[str, tuple[dict[str, Any], BinTable | None]]:
    """Header and table of every HDU of a FITS file in memory, by EXTNAME (``PRIMARY`` first).

    Image HDUs get ``None`` as table; a table this reader cannot decode raises
    :class:`UnsupportedFeatureError`.
    """
    out: dict[str, tuple[dict[str, Any], BinTable | None]] = {}
    view, pos = memoryview(raw), 0
    while pos + _BLOCK <= len(raw):
        header, pos = parse_header(view, pos)
        size = _data_size(header)
        name = str(header.get("EXTNAME", "PRIMARY" if not out else f"HDU{len(out)}")).upper()
        table = None
        if header.get("XTENSION") == "BINTABLE":
            table = BinTable(header, view[pos : pos + size])
        out.setdefault(name, (header, table))
        pos += -(-size // _BLOCK) * _BLOCK
    return out


def _data_size(header: dict[str, Any]) -> int:
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    n = int(np.prod([int(header[f"NAXIS{i + 1}"]) for i in range(naxis)]))
    if header.get("ZIMAGE") or header.get("ZTABLE"):
        raise UnsupportedFeatureError("compressed HDU")
    bits = abs(int(header.get("BITPIX", 8)))
    return (bits // 8) * int(header.get("GCOUNT", 1)) * (int(header.get("PCOUNT", 0)) + n)
