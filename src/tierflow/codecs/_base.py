"""Waveform codecs: small frozen dataclasses whose dict form goes into the HDF5 attributes."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import ConfigError
from tierflow.registry import Registry

__all__ = ["CODECS", "RadwareSigcompress", "ULEB128ZigZagDiff", "WaveformCodec"]

CODECS: Registry[type[WaveformCodec]] = Registry(
    "waveform codec", entry_point_group="tierflow.codecs"
)
"""Waveform codecs by their ``codec`` attribute; plugins join through ``tierflow.codecs``."""


@dataclasses.dataclass(frozen=True)
class WaveformCodec(ABC):
    """A lossless integer-waveform compression algorithm and its parameters.

    Subclasses set `name` (the ``codec`` attribute on disk), declare their parameters as
    dataclass fields and provide the numba kernels through the private hooks. The kernel
    modules are imported by the hooks, so that importing the codecs does not import numba.

    Examples
    --------
    >>> from tierflow.codecs import WaveformCodec
    >>> WaveformCodec.from_dict({"codec": "radware_sigcompress", "codec_shift": -32768})
    RadwareSigcompress(codec_shift=-32768)
    """

    name: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """The codec as HDF5 attributes: ``{"codec": name, **parameters}``.

        Examples
        --------
        >>> from tierflow.codecs import RadwareSigcompress
        >>> RadwareSigcompress(codec_shift=-32768).to_dict()
        {'codec': 'radware_sigcompress', 'codec_shift': -32768}
        """
        params = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"codec": self.name, **params}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WaveformCodec:
        """Make the codec that ``d["codec"]`` names, from its parameters in `d`.

        Keys that are not parameters of that codec (``datatype``, ``units``, ...) are ignored.

        Raises
        ------
        ConfigError
            When `d` has no ``codec`` or a parameter is invalid.
        NotFoundError
            When no codec has that name.
        """
        name = d.get("codec")
        if not isinstance(name, str):
            raise ConfigError(f"a codec needs a 'codec' name string, got {name!r}")
        codec_cls = CODECS[name]
        if not issubclass(codec_cls, cls):
            raise ConfigError(f"codec {name!r} is not a {cls.__name__}")
        params = {f.name: d[f.name] for f in dataclasses.fields(codec_cls) if f.name in d}
        return codec_cls(**params)

    def max_encoded_bytes(self, n_samples: int) -> int:
        """An upper bound of the encoded bytes of one waveform of `n_samples` samples.

        Examples
        --------
        >>> from tierflow.codecs import ULEB128ZigZagDiff
        >>> ULEB128ZigZagDiff().max_encoded_bytes(1000)
        5000
        """
        if n_samples < 0:
            raise ValueError(f"n_samples must not be negative, got {n_samples}")
        return int(self._bytes_bound(np.array([n_samples], dtype=np.int64))[0])

    @abstractmethod
    def _bytes_bound(self, sizes: NDArray[np.int64]) -> NDArray[np.int64]:
        """Upper bounds of the encoded bytes of waveforms of `sizes` samples."""

    @abstractmethod
    def _encode_kernel(
        self,
        values: NDArray[Any],
        offsets: NDArray[np.int64],
        out: NDArray[np.uint8],
        ends: NDArray[np.int64],
    ) -> tuple[int, int]:
        """Encode ``values[offsets[k]:offsets[k+1]]`` in turn into `out`, their ends in `ends`.

        Returns ``(0, -1)``, or a nonzero status and the waveform `k` it concerns.
        """

    @abstractmethod
    def _decode_kernel(
        self,
        encoded: NDArray[np.uint8],
        ends: NDArray[np.int64],
        out: NDArray[Any],
        out_offsets: NDArray[np.int64],
    ) -> tuple[int, int]:
        """Decode ``encoded[ends[k-1]:ends[k]]`` into ``out[out_offsets[k]:out_offsets[k+1]]``.

        Returns ``(0, -1)``, or a nonzero status and the waveform `k` it concerns.
        """

    @abstractmethod
    def _error_message(self, status: int) -> str:
        """What the nonzero `status` returned by a kernel means."""


def _as_int(name: str, value: object) -> int:
    """`value` as an int: integers, and integral floats (the anchor writes ``-32768.0``)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise ConfigError(f"{name} must be an integer, got {value!r}")


@CODECS.register("radware_sigcompress")
@dataclasses.dataclass(frozen=True)
class RadwareSigcompress(WaveformCodec):
    """radware-sigcompress v1.0 (D. C. Radford): chunks of absolute values or differences.

    Parameters
    ----------
    codec_shift
        Added to every sample before encoding, subtracted after decoding: the shifted
        samples must fit in int16 (LEGEND uses ``-32768`` for uint16 waveforms).

    Examples
    --------
    >>> import numpy as np
    >>> from tierflow.codecs import RadwareSigcompress, decode, encode
    >>> codec = RadwareSigcompress(codec_shift=-32768)
    >>> wfs = np.array([[40000, 40010, 40005, 39990]], dtype=np.uint16)
    >>> data, ends = encode(codec, wfs)
    >>> decode(codec, data, ends, 4, np.uint16)
    array([[40000, 40010, 40005, 39990]], dtype=uint16)
    """

    name: ClassVar[str] = "radware_sigcompress"

    codec_shift: int = 0

    def __post_init__(self) -> None:
        shift = _as_int("codec_shift", self.codec_shift)
        if not -(2**31) <= shift < 2**31:
            raise ConfigError(f"codec_shift must fit in int32, got {shift}")
        object.__setattr__(self, "codec_shift", shift)

    def _bytes_bound(self, sizes: NDArray[np.int64]) -> NDArray[np.int64]:
        # a chunk costs at most 3 + its samples words, every chunk but the last has at
        # least 48 samples; add the length word and a padding word
        chunks = (sizes + 47) // 48
        return 2 * (sizes + 3 * chunks + 2)

    def _encode_kernel(
        self,
        values: NDArray[Any],
        offsets: NDArray[np.int64],
        out: NDArray[np.uint8],
        ends: NDArray[np.int64],
    ) -> tuple[int, int]:
        from tierflow.codecs import _radware

        return _radware.encode_waveforms(values, offsets, self.codec_shift, out, ends)

    def _decode_kernel(
        self,
        encoded: NDArray[np.uint8],
        ends: NDArray[np.int64],
        out: NDArray[Any],
        out_offsets: NDArray[np.int64],
    ) -> tuple[int, int]:
        from tierflow.codecs import _radware

        return _radware.decode_waveforms(encoded, ends, out, out_offsets, self.codec_shift)

    def _error_message(self, status: int) -> str:
        from tierflow.codecs import _radware

        return _radware.ERRORS[status]


@CODECS.register("uleb128_zigzag_diff")
@dataclasses.dataclass(frozen=True)
class ULEB128ZigZagDiff(WaveformCodec):
    """Differences of adjacent samples, zig-zag mapped, as unsigned LEB128 varints.

    Examples
    --------
    >>> import numpy as np
    >>> from tierflow.codecs import ULEB128ZigZagDiff, encode
    >>> data, ends = encode(ULEB128ZigZagDiff(), np.array([[3, 1, 200]], dtype=np.int16))
    >>> data.tolist(), ends.tolist()
    ([6, 3, 142, 3], [4])
    """

    name: ClassVar[str] = "uleb128_zigzag_diff"

    def _bytes_bound(self, sizes: NDArray[np.int64]) -> NDArray[np.int64]:
        return 5 * sizes  # differences are int32: at most 5 varint bytes each

    def _encode_kernel(
        self,
        values: NDArray[Any],
        offsets: NDArray[np.int64],
        out: NDArray[np.uint8],
        ends: NDArray[np.int64],
    ) -> tuple[int, int]:
        from tierflow.codecs import _uleb128

        wide = values.dtype.itemsize > 4
        return _uleb128.encode_waveforms(values, offsets, wide, out, ends)

    def _decode_kernel(
        self,
        encoded: NDArray[np.uint8],
        ends: NDArray[np.int64],
        out: NDArray[Any],
        out_offsets: NDArray[np.int64],
    ) -> tuple[int, int]:
        from tierflow.codecs import _uleb128

        return _uleb128.decode_waveforms(encoded, ends, out, out_offsets)

    def _error_message(self, status: int) -> str:
        from tierflow.codecs import _uleb128

        return _uleb128.ERRORS[status]
