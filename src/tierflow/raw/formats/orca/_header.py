"""The ORCA file header: an XML property list in the first packet, kept as a dict."""

from __future__ import annotations

import json
import plistlib
from typing import Any
from xml.parsers.expat import ExpatError

import numpy as np
import numpy.typing as npt

from tierflow.errors import FormatError

__all__ = ["OrcaHeader", "data_id_of", "parse_header_packet"]


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


def parse_header_packet(words: npt.NDArray[np.uint32], name: str = "stream") -> OrcaHeader:
    """The header of the first packet: word 1 is the XML length in bytes, the XML follows."""
    if words.size < 2:
        raise FormatError(f"{name}: the ORCA header packet is cut short", file=name)
    n_bytes = int(words[1])
    xml = words[2:].tobytes()[:n_bytes]
    try:
        return OrcaHeader(plistlib.loads(xml, fmt=plistlib.FMT_XML))
    except (plistlib.InvalidFileException, ValueError, ExpatError) as err:
        raise FormatError(f"{name}: the ORCA XML header does not parse ({err})", file=name) from err
