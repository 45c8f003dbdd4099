"""Encoded (compressed) waveforms: bytes per row plus the decoded sizes and the codec."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tierflow.errors import MismatchError
from tierflow.types._array import Array, ArrayOfEqualSizedArrays, Scalar
from tierflow.types._base import DataObject, RowSelection
from tierflow.types._datatype import (
    ArrayType,
    ElementKind,
    ElementType,
    EncodedArrayType,
    EqualSizedArrayType,
)
from tierflow.types._vov import VectorOfVectors

__all__ = ["ArrayOfEncodedEqualSizedArrays", "VectorOfEncodedVectors"]

REAL = ElementType(ElementKind.REAL)
DEFAULT_DECODED_DTYPE = np.dtype(np.int32)  # what the anchor decodes into


class _Encoded(DataObject):
    """Common behaviour: rows of bytes in `encoded_data`, codec parameters in ``attrs``."""

    encoded_data: VectorOfVectors

    def __len__(self) -> int:
        return len(self.encoded_data)

    @property
    def codec(self) -> Any:
        """The :class:`tierflow.codecs.WaveformCodec` named by the ``codec`` attributes."""
        from tierflow.codecs import WaveformCodec

        return WaveformCodec.from_dict(self.attrs)

    def resize(self, size: int) -> None:
        self.encoded_data.resize(size)

    @property
    def _bytes(self) -> npt.NDArray[np.uint8]:
        flat = self.encoded_data.flattened_data
        assert isinstance(flat, Array), "encoded data is a vector of vectors of bytes"
        return flat.nda


class ArrayOfEncodedEqualSizedArrays(_Encoded):
    """Equal-length waveforms, each encoded to its own number of bytes.

    Example
    -------
    >>> from tierflow.codecs import RadwareSigcompress
    >>> w = ArrayOfEqualSizedArrays(np.arange(20, dtype="int16").reshape(2, 10))
    >>> enc = ArrayOfEncodedEqualSizedArrays.encode(w, RadwareSigcompress())
    >>> enc.decode() == w
    True
    """

    def __init__(
        self,
        encoded_data: VectorOfVectors,
        decoded_size: int,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.encoded_data = encoded_data
        self.decoded_size = int(
            decoded_size.value if isinstance(decoded_size, Scalar) else decoded_size
        )
        self._init_attrs(attrs)

    @property
    def datatype(self) -> EqualSizedArrayType:
        return EqualSizedArrayType(1, 1, REAL, encoded=True)

    @classmethod
    def encode(cls, values: ArrayOfEqualSizedArrays, codec: Any) -> ArrayOfEncodedEqualSizedArrays:
        """Encode every row of `values` with `codec`."""
        from tierflow.codecs import encode, parse_codec

        codec = parse_codec(codec)
        flat, offsets = encode(codec, values.nda)
        encoded = VectorOfVectors(flattened_data=flat, cumulative_length=offsets)
        return cls(encoded, values.nda.shape[1], attrs=values.attrs | codec.to_dict())

    def decode(
        self, dtype: npt.DTypeLike | None = None, out: npt.NDArray[Any] | None = None
    ) -> ArrayOfEqualSizedArrays:
        """The waveforms, decoded into `dtype` (int32 by default, as the anchor) or into `out`."""
        from tierflow.codecs import decode

        dtype = np.dtype(dtype) if dtype is not None else DEFAULT_DECODED_DTYPE
        data = decode(
            self.codec,
            self._bytes,
            self.encoded_data.cumulative_length.nda,
            self.decoded_size,
            dtype,
            out=out,
        )
        attrs = {k: v for k, v in self.attrs.items() if not k.startswith("codec")}
        return ArrayOfEqualSizedArrays(data, attrs=attrs)

    def take(self, rows: RowSelection) -> ArrayOfEncodedEqualSizedArrays:
        return type(self)(self.encoded_data.take(rows), self.decoded_size, self.attrs)

    def extend(self, other: ArrayOfEncodedEqualSizedArrays) -> None:
        self.encoded_data.extend(other.encoded_data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataObject):
            return NotImplemented
        return (
            isinstance(other, ArrayOfEncodedEqualSizedArrays)
            and self._same_attrs(other)
            and self.decoded_size == other.decoded_size
            and self.encoded_data == other.encoded_data
        )

    __hash__ = None  # type: ignore[assignment]


class VectorOfEncodedVectors(_Encoded):
    """Waveforms of different lengths, each encoded; `decoded_size` holds every length."""

    def __init__(
        self,
        encoded_data: VectorOfVectors,
        decoded_size: Array | npt.ArrayLike,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.encoded_data = encoded_data
        self.decoded_size = decoded_size if isinstance(decoded_size, Array) else Array(decoded_size)
        self._init_attrs(attrs)

    @property
    def datatype(self) -> ArrayType:
        return ArrayType(1, EncodedArrayType(1, REAL))

    @classmethod
    def encode(cls, values: VectorOfVectors, codec: Any) -> VectorOfEncodedVectors:
        """Encode every row of the jagged `values` with `codec`."""
        from tierflow.codecs import encode, parse_codec

        codec = parse_codec(codec)
        content = values.flattened_data
        if not isinstance(content, Array):
            raise MismatchError("only a vector of vectors of depth 1 holds waveforms to encode")
        flat, offsets = encode(codec, content.nda, values.cumulative_length.nda)
        encoded = VectorOfVectors(flattened_data=flat, cumulative_length=offsets)
        return cls(encoded, values.lengths.astype(np.uint32), attrs=values.attrs | codec.to_dict())

    def decode(self, dtype: npt.DTypeLike | None = None) -> VectorOfVectors:
        """The waveforms, decoded into `dtype` (int32 by default, as the anchor)."""
        from tierflow.codecs import decode

        dtype = np.dtype(dtype) if dtype is not None else DEFAULT_DECODED_DTYPE
        sizes = self.decoded_size.nda
        flat = decode(
            self.codec,
            self._bytes,
            self.encoded_data.cumulative_length.nda,
            sizes,
            dtype,
        )
        attrs = {k: v for k, v in self.attrs.items() if not k.startswith("codec")}
        offsets = np.cumsum(sizes, dtype=np.uint32)
        return VectorOfVectors(flattened_data=flat, cumulative_length=offsets, attrs=attrs)

    def take(self, rows: RowSelection) -> VectorOfEncodedVectors:
        return type(self)(self.encoded_data.take(rows), self.decoded_size.take(rows), self.attrs)

    def extend(self, other: VectorOfEncodedVectors) -> None:
        self.encoded_data.extend(other.encoded_data)
        self.decoded_size.extend(other.decoded_size)

    def resize(self, size: int) -> None:
        self.encoded_data.resize(size)
        self.decoded_size.resize(size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataObject):
            return NotImplemented
        return (
            isinstance(other, VectorOfEncodedVectors)
            and self._same_attrs(other)
            and self.decoded_size == other.decoded_size
            and self.encoded_data == other.encoded_data
        )

    __hash__ = None  # type: ignore[assignment]
