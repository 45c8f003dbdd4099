"""Payload values: canonical form, content hash, read-only views, HDF5 encoding.

A payload is a numpy array of any fixed dtype (numbers, booleans, bytes, unicode strings,
structured records) or a JSON record (``dict`` of str → JSON values, e.g. a pargen result).
Its identity is the SHA-256 of a canonical byte form, so equal constants have equal hashes in
every store and a stored payload can be checked on the way out.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from tierflow.errors import FormatError, MismatchError

__all__ = ["PayloadKind", "canonical", "content_hash", "freeze", "thaw"]


class PayloadKind(str, enum.Enum):
    """What a payload holds."""

    ARRAY = "array"
    RECORD = "record"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return dict(value)
    raise MismatchError(f"a record payload holds {type(value).__name__}, which is not JSON")


def _record_text(value: Mapping[str, Any]) -> str:
    try:
        return json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=_json_default,
            allow_nan=True,
        )
    except (TypeError, ValueError) as error:
        raise MismatchError(f"a record payload must be JSON-like: {error}") from None


def _array(value: Any) -> np.ndarray:
    array = np.array(value)  # a copy: the caller's buffer can change, the payload cannot
    if array.dtype.kind == "O":
        if all(isinstance(item, str) for item in array.flat):
            array = array.astype(str)
        else:
            raise MismatchError(
                "an array payload needs a fixed dtype; object arrays are allowed only of str"
            )
    if array.dtype.hasobject or (array.dtype.kind == "V" and array.dtype.fields is None):
        raise MismatchError(f"unsupported payload dtype {array.dtype}")
    return np.ascontiguousarray(array)


def canonical(value: Any) -> tuple[PayloadKind, np.ndarray | dict[str, Any]]:
    """The payload kind and a private canonical copy of `value`.

    Records are normalised through JSON (numpy scalars become Python numbers, tuples lists);
    arrays become C-contiguous copies, object arrays of ``str`` become unicode arrays.
    """
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise MismatchError("a record payload needs str keys")
        record: dict[str, Any] = json.loads(_record_text(value))
        return PayloadKind.RECORD, record
    if isinstance(value, (str, bytes)):
        raise MismatchError(
            "a bare string is not a payload: wrap text as np.array(text) or {'text': text}"
        )
    return PayloadKind.ARRAY, _array(value)


def content_hash(kind: PayloadKind, value: np.ndarray | Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical form (kind, dtype, shape and bytes, or sorted JSON)."""
    digest = hashlib.sha256()
    if kind is PayloadKind.RECORD:
        assert isinstance(value, Mapping)
        digest.update(b"record\0" + _record_text(value).encode())
    else:
        assert isinstance(value, np.ndarray)
        header = json.dumps(
            {
                "dtype": value.dtype.descr if value.dtype.fields else value.dtype.str,
                "shape": list(value.shape),
            },
            sort_keys=True,
        )
        digest.update(b"array\0" + header.encode() + b"\0")
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def freeze(value: Any) -> Any:
    """A read-only view: arrays lose their write flag, dicts become proxies, lists tuples."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A mutable deep copy of a frozen payload value (dicts, lists, writable arrays)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


# --- HDF5 encoding: one dataset per payload, named by its hash -----------------------------------


def write_payload(group: Any, name: str, kind: PayloadKind, value: Any) -> None:
    """Write one payload as dataset `name` of h5py `group`."""
    import h5py

    if kind is PayloadKind.RECORD:
        dset = group.create_dataset(name, data=_record_text(value), dtype=h5py.string_dtype())
    elif value.dtype.kind == "U":
        flat = np.array([str(item) for item in value.reshape(-1)], dtype=object)
        dset = group.create_dataset(name, data=flat.reshape(value.shape), dtype=h5py.string_dtype())
        dset.attrs["numpy_dtype"] = value.dtype.str
    else:
        dset = group.create_dataset(name, data=value)
    dset.attrs["kind"] = kind.value


def read_payload(dset: Any, expected_hash: str, file: str) -> tuple[PayloadKind, Any]:
    """Read a payload dataset back and check its content hash."""
    try:
        kind = PayloadKind(str(dset.attrs["kind"]))
    except (KeyError, ValueError):
        raise FormatError(
            "payload dataset without a valid 'kind'", file=file, obj=dset.name
        ) from None
    value: Any
    if kind is PayloadKind.RECORD:
        value = json.loads(dset.asstr()[()])
    elif "numpy_dtype" in dset.attrs:
        value = np.array(dset.asstr()[()], dtype=str(dset.attrs["numpy_dtype"]))
    else:
        value = np.ascontiguousarray(dset[()])
    if content_hash(kind, value) != expected_hash:
        raise FormatError(
            "payload does not match its content hash (corrupted)", file=file, obj=dset.name
        )
    return kind, value
