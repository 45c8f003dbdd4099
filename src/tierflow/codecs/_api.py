"""``encode`` and ``decode``: many waveforms at once, to and from a jagged array of bytes."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from tierflow.codecs._parse import CodecSpec, parse_codec
from tierflow.errors import DecodeError, MismatchError

__all__ = ["decode", "encode"]

UINT32_MAX = 2**32 - 1


def encode(
    codec: CodecSpec, values: npt.ArrayLike, lengths: npt.ArrayLike | None = None
) -> tuple[NDArray[np.uint8], NDArray[np.uint32]]:
    """Encode waveforms, each into its own number of bytes.

    Parameters
    ----------
    codec
        The codec, or anything :func:`parse_codec` accepts.
    values
        Integer waveforms: 2-d ``(n_waveforms, n_samples)``, or 1-d flattened data of a
        jagged array with its `lengths`.
    lengths
        The ``cumulative_length`` (end of each waveform in `values`) of a jagged array.

    Returns
    -------
    encoded_flat, encoded_cumulative_length
        The bytes of all waveforms (uint8) and where each ends (uint32): a jagged byte array.

    Raises
    ------
    MismatchError
        When the values are not integers, the layout is inconsistent or a waveform does
        not fit the codec (the message names the waveform).

    Examples
    --------
    >>> import numpy as np
    >>> from tierflow.codecs import encode
    >>> data, ends = encode("uleb128_zigzag_diff", np.array([1, 2, 3, 10], "int32"), [3, 4])
    >>> data.tolist(), ends.tolist()
    ([2, 2, 2, 20], [3, 4])
    """
    codec = parse_codec(codec)
    flat, offsets = _value_layout(values, lengths)
    n_wf = offsets.size - 1
    out = np.empty(int(codec._bytes_bound(np.diff(offsets)).sum()), dtype=np.uint8)
    ends = np.empty(n_wf, dtype=np.int64)
    status, index = codec._encode_kernel(flat, offsets, out, ends)
    if status != 0:
        raise MismatchError(
            f"cannot encode waveform {index} with {codec.name}: {codec._error_message(status)}"
        )
    total = int(ends[-1]) if n_wf else 0
    if total > UINT32_MAX:
        raise MismatchError(f"{total} encoded bytes do not fit a uint32 cumulative_length")
    return out[:total].copy(), ends.astype(np.uint32)


def decode(
    codec: CodecSpec,
    encoded_flat: npt.ArrayLike,
    encoded_cumulative_length: npt.ArrayLike,
    decoded_size: int | npt.ArrayLike,
    dtype: npt.DTypeLike,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Decode waveforms from a jagged byte array.

    Parameters
    ----------
    codec
        The codec, or anything :func:`parse_codec` accepts (e.g. the HDF5 attributes).
    encoded_flat, encoded_cumulative_length
        The bytes of all waveforms and where each ends, as :func:`encode` returns them.
    decoded_size
        Samples per waveform: one int for equal-sized waveforms, or one per waveform.
    dtype
        Integer dtype of the decoded samples.
    out
        Optional array to decode into, of `dtype`, C-contiguous: 2-d with at least as many
        rows (equal-sized) or 1-d with at least as many samples (jagged). A view of it
        holding exactly the decoded samples is returned.

    Returns
    -------
    numpy.ndarray
        ``(n_waveforms, decoded_size)`` when `decoded_size` is an int, else the 1-d
        concatenation of all waveforms.

    Raises
    ------
    DecodeError
        When the bytes are corrupt; the message names the waveform.
    MismatchError
        When the arguments do not fit together.

    Examples
    --------
    >>> import numpy as np
    >>> from tierflow.codecs import decode
    >>> decode("uleb128_zigzag_diff", np.array([2, 2, 2, 20], "uint8"), [3, 4], [3, 1], "int32")
    array([ 1,  2,  3, 10], dtype=int32)
    """
    codec = parse_codec(codec)
    buf = _as_bytes(encoded_flat)
    ends = _as_ends(encoded_cumulative_length)
    out_offsets, shape = _decoded_layout(decoded_size, ends.size)
    result = _output(out, shape, _integer_dtype(dtype))
    status, index = codec._decode_kernel(buf, ends, result.reshape(-1), out_offsets)
    if status != 0:
        raise DecodeError(
            f"corrupt {codec.name} data in waveform {index}: {codec._error_message(status)}"
        )
    return result


def _integer_dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    result = np.dtype(dtype)
    if result.kind not in "iu":
        raise MismatchError(f"waveforms decode to integers, not {result}")
    return result


def _value_layout(
    values: npt.ArrayLike, lengths: npt.ArrayLike | None
) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """The flat C-contiguous values and the offsets ``[0, end_0, end_1, ...]``."""
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        raise MismatchError(f"only integer waveforms can be encoded, not {values.dtype}")
    if lengths is None:
        if values.ndim != 2:
            raise MismatchError(f"expected 2-d equal-sized waveforms, got {values.ndim}-d")
        n_wf, n_samples = values.shape
        offsets = np.arange(n_wf + 1, dtype=np.int64) * n_samples
        return np.ascontiguousarray(values).reshape(-1), offsets
    if values.ndim != 1:
        raise MismatchError(f"jagged waveforms need 1-d flattened data, got {values.ndim}-d")
    offsets = np.concatenate([[0], _as_lengths(lengths)]).astype(np.int64)
    if np.any(np.diff(offsets) < 0) or offsets[-1] > values.size:
        raise MismatchError("cumulative lengths must not decrease nor exceed the flattened data")
    return np.ascontiguousarray(values), offsets


def _as_lengths(lengths: npt.ArrayLike) -> NDArray[np.int64]:
    array = np.asarray(lengths)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise MismatchError("cumulative lengths must be a 1-d integer array")
    return array.astype(np.int64)


def _as_bytes(encoded_flat: npt.ArrayLike) -> NDArray[np.uint8]:
    array = np.asarray(encoded_flat)
    if array.ndim != 1 or (array.size and array.dtype.itemsize != 1):
        raise MismatchError(f"encoded data must be 1-d bytes, got {array.ndim}-d {array.dtype}")
    return np.ascontiguousarray(array).view(np.uint8)


def _as_ends(encoded_cumulative_length: npt.ArrayLike) -> NDArray[np.int64]:
    return np.ascontiguousarray(_as_lengths(encoded_cumulative_length))


def _decoded_layout(
    decoded_size: int | npt.ArrayLike, n_wf: int
) -> tuple[NDArray[np.int64], tuple[int, ...]]:
    """Offsets of each decoded waveform and the shape of the result."""
    if np.ndim(decoded_size) == 0:
        size = int(np.asarray(decoded_size))
        if size < 0:
            raise DecodeError(f"negative decoded_size {size}")
        return np.arange(n_wf + 1, dtype=np.int64) * size, (n_wf, size)
    sizes = _as_lengths(decoded_size)
    if sizes.size != n_wf:
        raise MismatchError(f"{sizes.size} decoded sizes for {n_wf} encoded waveforms")
    if np.any(sizes < 0):
        raise DecodeError(f"negative decoded_size in waveform {int(np.argmax(sizes < 0))}")
    offsets = np.zeros(n_wf + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets, (int(offsets[-1]),)


def _output(out: NDArray[Any] | None, shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[Any]:
    """`out` cut to `shape`, after checks, or a new array."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray) or out.dtype != dtype or not out.flags.c_contiguous:
        raise MismatchError(f"out must be a C-contiguous {dtype} array")
    if out.ndim != len(shape) or out.shape[1:] != shape[1:] or out.shape[0] < shape[0]:
        raise MismatchError(f"out of shape {out.shape} cannot hold decoded shape {shape}")
    return out[: shape[0]]
