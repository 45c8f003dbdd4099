"""The ORCA file header: an XML property list in the first packet, kept as a dict."""

from __future__ import annotations

import base64
import json
import plistlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.parsers.expat import ExpatError

import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError

__all__ = ["OrcaHeader", "data_id_of", "loads_plist", "parse_header_packet"]


def data_id_of(raw_id: int) -> int:
    """The unshifted 32-bit data id of a header ``dataId`` (negative ones are short packets).

    Example
    -------
    >>> hex(data_id_of(0x1C0000))
    '0x1c0000'
    """
    return int(raw_id) & 0xFFFFFFFF


class OrcaHeader(dict[str, Any]):
    """The decoded plist of an ORCA file, with look-ups used by the decoders.

    Example
    -------
    >>> h = OrcaHeader({"dataDescription": {"ORRunModel": {"Run": {"dataId": 0x1C0000,
    ...                 "decoder": "ORRunDecoderForRun"}}}})
    >>> h.decoders_by_id()
    {1835008: 'ORRunDecoderForRun'}
    """

    def decoders_by_id(self) -> dict[int, str]:
        """Decoder name of every (unshifted) data id the file declares."""
        out: dict[int, str] = {}
        for per_class in self.get("dataDescription", {}).values():
            for entry in per_class.values():
                if isinstance(entry, dict) and "dataId" in entry and "decoder" in entry:
                    out[data_id_of(entry["dataId"])] = str(entry["decoder"])
        return out

    def object_info(self, class_names: str | list[str]) -> dict[int, dict[int, dict[str, Any]]]:
        """``info[crate][card]`` of every card whose ORCA class is one of `class_names`."""
        names = [class_names] if isinstance(class_names, str) else class_names
        out: dict[int, dict[int, dict[str, Any]]] = {}
        for crate in self.get("ObjectInfo", {}).get("Crates", []):
            for card in crate.get("Cards", []):
                if card.get("Class Name") in names:
                    out.setdefault(crate["CrateNumber"], {})[card["Card"]] = card
        return out

    def readout_info(self, class_name: str) -> list[dict[str, Any]]:
        """The ``ReadoutDescription`` entries of `class_name`."""
        return [
            r
            for r in self.get("ReadoutDescription", [])
            if isinstance(r, dict) and r.get("name") == class_name
        ]

    def auxhw_info(self, class_name: str, unique_id: int) -> dict[str, Any]:
        """The ``ObjectInfo/AuxHw`` entry of `class_name` with ORCA unique id `unique_id`."""
        for obj in self.get("ObjectInfo", {}).get("AuxHw", []):
            if obj.get("Class Name") == class_name and obj.get("uniqueID") == unique_id:
                return obj  # type: ignore[no-any-return]
        return {}

    def to_json(self) -> str:
        """The header as the anchor stores it (``OrcaHeader``, a JSON string)."""
        return json.dumps(self, default=_jsonable)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.hex()
    return str(obj)


class _UnsupportedError(Exception):
    """A plist element the fast reader leaves to :mod:`plistlib`."""


def _integer(text: str) -> int:
    try:
        return int(text)  # most are decimal: one call
    except ValueError:
        text = text.strip()
        return int(text, 16) if text[:2] in ("0x", "0X") else int(text)


_SCALARS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "integer": _integer,
    "real": float,
    "true": lambda _: True,
    "false": lambda _: False,
    "data": lambda text: base64.b64decode(text.encode("ascii")),
}
"""plist scalar tags → value from the element text, as :mod:`plistlib` reads them."""


def _plist_value(elem: ET.Element) -> Any:
    tag = elem.tag
    if tag == "dict":
        out = {}
        children = iter(elem)
        for key in children:  # key, value, key, value...
            value = next(children, None)
            if key.tag != "key" or value is None:
                raise _UnsupportedError("a dict without key/value pairs")
            out[key.text or ""] = _plist_value(value)
        return out
    if tag == "array":
        return [_plist_value(child) for child in elem]
    try:
        return _SCALARS[tag](elem.text or "")
    except KeyError:
        raise _UnsupportedError(tag) from None


def loads_plist(xml: bytes) -> Any:
    """An XML property list, read with the C XML parser (ORCA headers are ~1 MB of XML).

    Gives what :func:`plistlib.loads` gives; anything it does not know (dates, malformed
    dicts) is read by :mod:`plistlib` itself.

    Example
    -------
    >>> loads_plist(b"<plist><dict><key>a</key><integer>0x10</integer></dict></plist>")
    {'a': 16}
    """
    try:
        root = ET.fromstring(xml)
        if root.tag != "plist" or len(root) != 1:
            raise _UnsupportedError("not one plist value")
        return _plist_value(root[0])
    except (_UnsupportedError, ET.ParseError, ValueError):
        return plistlib.loads(xml, fmt=plistlib.FMT_XML)


def parse_header_packet(words: npt.NDArray[np.uint32], name: str = "stream") -> OrcaHeader:
    """The header of the first packet: word 1 is the XML length in bytes, the XML follows."""
    if words.size < 2:
        raise FormatError(f"{name}: the ORCA header packet is cut short", file=name)
    n_bytes = int(words[1])
    xml = words[2:].tobytes()[:n_bytes]
    try:
        return OrcaHeader(loads_plist(xml))
    except (plistlib.InvalidFileException, ValueError, ExpatError) as err:
        raise FormatError(f"{name}: the ORCA XML header does not parse ({err})", file=name) from err
