"""``build_raw``: one DAQ input to one or many LH5 outputs."""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py

from tierflow import lh5
from tierflow.allocator import retain_freed_memory
from tierflow.errors import ConfigError, FormatError, NotFoundError
from tierflow.files import publish
from tierflow.lh5 import HDF5_PRESETS, Hdf5Preset, preset_settings
from tierflow.raw._buffer import RawBuffer, RawBufferLibrary
from tierflow.raw._proc import process_buffer
from tierflow.raw._source import make_source
from tierflow.raw._streamer import ChunkMode, DataStreamer, HeaderBuffer
from tierflow.raw.formats import STREAMERS, load_streamer

__all__ = ["HDF5_PRESETS", "Hdf5Preset", "build_raw", "detect_stream_type", "make_streamer"]
# the presets are lh5's (shared by the tiers), re-exported where raw users found them

log = logging.getLogger(__name__)

CONFIG_EXTENSIONS = (".json", ".yaml", ".yml")


def detect_stream_type(stream: Any) -> str:
    """The stream type of `stream` from its first bytes (magic numbers, header layout).

    Example
    -------
    >>> detect_stream_type(b"LArI" + bytes(60))
    'LlamaDaq'
    """
    src = make_source(stream)
    try:
        head = src.peek(64)
    finally:
        if not isinstance(stream, (bytes, bytearray)) and src is not stream:
            src.close()
    for name in STREAMERS:
        if load_streamer(name).is_stream(head):
            return name
    raise FormatError(
        f"{getattr(src, 'name', stream)}: unknown DAQ stream type (first bytes {head[:12].hex()}); "
        f"pass in_stream_type, one of {list(STREAMERS)}"
    )


def make_streamer(stream: Any, in_stream_type: str | None = None, **options: Any) -> DataStreamer:
    """The streamer for `stream`, of `in_stream_type` or detected from the content."""
    name = in_stream_type or detect_stream_type(stream)
    cls = load_streamer(name)
    return cls(**options)  # type: ignore[no-any-return]


def _load_spec(out_spec: Any, kw: Mapping[str, Any]) -> RawBufferLibrary | str:
    if isinstance(out_spec, (str, os.PathLike)) and str(out_spec).endswith(CONFIG_EXTENSIONS):
        import json

        import yaml

        text = Path(out_spec).read_text()
        out_spec = json.loads(text) if str(out_spec).endswith(".json") else yaml.safe_load(text)
    if isinstance(out_spec, Mapping):
        return RawBufferLibrary(out_spec, kw_dict=kw)
    if isinstance(out_spec, (RawBufferLibrary, str)):
        return out_spec
    if isinstance(out_spec, os.PathLike):
        return str(os.fspath(out_spec))
    raise ConfigError(
        f"out_spec must be a file name, a dict or a RawBufferLibrary, not {type(out_spec).__name__}"
    )


class _Output:
    """One output file under its temporary name: built in a :class:`~tierflow.lh5.FileImage`
    until an object the image does not write comes; from then on through h5py."""

    def __init__(self, temp: str, hdf5_settings: Mapping[str, Any] | None) -> None:
        self.temp = temp
        self.image: lh5.FileImage | None = lh5.FileImage(temp, hdf5_settings, copy=False)
        self.handle: h5py.File | None = None

    def h5py_file(self) -> h5py.File:
        """The file through h5py (the image made whole first)."""
        if self.handle is None:
            if self.image is not None:
                self.image.close()
                self.image = None
            self.handle = h5py.File(self.temp, "a")
        return self.handle

    def close(self, ok: bool) -> None:
        if self.image is not None:
            if ok:
                self.image.close()
            else:
                self.image.discard()
        if self.handle is not None:
            self.handle.close()


class _Outputs:
    """Output files written under temporary names and renamed when everything succeeded."""

    def __init__(self, overwrite: bool, hdf5_settings: Mapping[str, Any] | None) -> None:
        self.overwrite = overwrite
        self.hdf5_settings = hdf5_settings
        self.files: dict[str, _Output] = {}

    def check(self, paths: list[str]) -> None:
        for path in paths:
            if path and os.path.exists(path) and not self.overwrite:
                raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")

    def _output(self, path: str) -> _Output:
        if path not in self.files:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or "."
            )
            os.close(fd)
            self.files[path] = _Output(temp, self.hdf5_settings)
        return self.files[path]

    def write(self, rb: RawBuffer, obj: Any) -> None:
        if not rb.out_file:
            return
        output = self._output(rb.out_file)
        mode = lh5.WriteMode.OVERWRITE if isinstance(rb, HeaderBuffer) else lh5.WriteMode.APPEND
        image = output.image
        if image is not None and image.supports(obj):
            image.write(obj, rb.out_name, rb.out_group, mode)
            if "/" in rb.out_name.strip("/"):
                image.mark_structs(rb.out_group, rb.out_name)
            return
        handle = output.h5py_file()
        lh5.write(
            obj,
            rb.out_name,
            handle,
            group=rb.out_group,
            mode=mode,
            hdf5_settings=self.hdf5_settings,
        )
        if "/" in rb.out_name.strip("/"):
            _mark_structs(handle[rb.out_group], rb.out_name)

    def finish(self, ok: bool) -> None:
        error: BaseException | None = None
        for path, output in self.files.items():
            try:
                output.close(ok and error is None)
            except BaseException as failed:  # not made whole: nothing half-written is kept
                error = error or failed
            if ok and error is None:
                os.chmod(output.temp, 0o644)
                publish(output.temp, path)
            else:
                Path(output.temp).unlink(missing_ok=True)
        if error is not None:
            raise error


def _mark_structs(group: h5py.Group, name: str) -> None:
    """Give the groups of an ``a/b`` out_name the ``struct{...}`` datatype the anchor writes."""
    parts = name.strip("/").split("/")[:-1]
    for depth in range(len(parts)):
        node = group["/".join(parts[: depth + 1])]
        node.attrs["datatype"] = "struct{" + ",".join(sorted(node)) + "}"


def _progress(total: int) -> Any:
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(desc="Decoding", total=total, unit="B", unit_scale=True, delay=2)


def build_raw(
    in_stream: str | os.PathLike[str],
    in_stream_type: str | None = None,
    out_spec: str | Mapping[str, Any] | RawBufferLibrary | None = None,
    buffer_size: int = 8192,
    n_max: float = math.inf,
    overwrite: bool = False,
    hdf5_settings: Mapping[str, Any] | str | None = None,
    **kw: Any,
) -> DataStreamer:
    """Decode a DAQ file into LH5 raw-tier tables.

    Parameters
    ----------
    in_stream
        The DAQ file (environment variables are expanded).
    in_stream_type
        ``"FlashCam"``, ``"ORCA"``, ``"Compass"`` or ``"LlamaDaq"``; detected from the
        content when ``None``.
    out_spec
        Output file name, an out_spec dict / JSON / YAML file (the anchor's shorthand), or a
        :class:`RawBufferLibrary`; ``None`` writes ``<in_stream without extension>.lh5``.
    buffer_size
        Rows per buffer before it is written.
    n_max
        Maximum rows to write.
    overwrite
        Replace existing outputs.
    hdf5_settings
        HDF5 dataset settings for everything written (``compression``, ``shuffle``...), or
        a :class:`Hdf5Preset` name: ``"legend"`` (shuffle + Zstd, the default, as LEGEND's
        production files) or ``"anchor"`` (shuffle + gzip, exactly the anchor's layout).
        Per-field ``proc_spec`` settings take precedence.
    **kw
        Keywords for the out_spec (``file_key=...``), streamer options such as
        ``compass_config_file``, and ``db_dict``: the ``db.*`` values of ``proc_spec`` DSP
        chains, by buffer name or output group (as the anchor looks them up).

    Returns
    -------
    The streamer, with ``n_bytes_read``, ``stopped_at`` (truncated input) and its decoders.

    Example
    -------
    >>> build_raw("run.fcio", out_spec="run_raw.lh5", overwrite=True)  # doctest: +SKIP
    """
    retain_freed_memory()
    path = os.path.expandvars(os.fspath(in_stream))
    if not os.path.exists(path):
        raise NotFoundError(f"input file {path} not found", file=path)
    options = {k: kw.pop(k) for k in list(kw) if k in ("compass_config_file",)}
    db_dict = kw.pop("db_dict", None)
    spec = _load_spec(out_spec if out_spec is not None else os.path.splitext(path)[0] + ".lh5", kw)
    streamer = make_streamer(path, in_stream_type, **options)
    rb_lib = spec if isinstance(spec, RawBufferLibrary) else None
    out_stream = spec if isinstance(spec, str) else ""
    headers = streamer.open_stream(
        path,
        rb_lib=rb_lib,
        buffer_size=buffer_size,
        chunk_mode=ChunkMode.ONLY_FULL,
        out_stream=out_stream,
    )
    outputs = _Outputs(overwrite, preset_settings(hdf5_settings))
    ok = False
    try:
        outputs.check(
            sorted(
                {rb.out_file for rb in streamer.rb_lib.all_buffers()}
                | {h.out_file for h in headers}
            )
        )
        # each write's chunks are compressed while the next rows are decoded and written;
        # the buffers hand their columns over (drain_parts(keep=False)): no copies
        with lh5.deferred_chunk_writes(copy=False):
            for h in headers:
                outputs.write(h, h.lgdo)
            _stream_to(streamer, outputs, n_max, os.path.getsize(path), db_dict)
        ok = True
    finally:
        outputs.finish(ok)
        streamer.close_stream()
    return streamer


def _stream_to(
    streamer: DataStreamer,
    outputs: _Outputs,
    n_max: float,
    size: int,
    db_dict: Mapping[str, Any] | None = None,
) -> None:
    bar = _progress(size)
    last = 0
    remaining = n_max
    for chunk in streamer:
        for rb in chunk:
            limit = None if math.isinf(remaining) else int(max(remaining, 0))
            dec = streamer.decoders[_decoder_of(streamer, rb)]
            for block in rb.drain_parts(limit, keep=False):
                remaining -= len(block)
                table = dec.make_table(block, rb.key_list[0] if rb.key_list else None)
                db = _buffer_db(db_dict, rb) if rb.proc_spec else None
                outputs.write(rb, process_buffer(table, rb.proc_spec, db))
        if bar is not None:
            bar.update(streamer.n_bytes_read - last)
            last = streamer.n_bytes_read
        if remaining <= 0:
            break
    if bar is not None:
        bar.close()


def _buffer_db(db_dict: Mapping[str, Any] | None, rb: RawBuffer) -> Mapping[str, Any] | None:
    """A buffer's entry of `db_dict`: by its name, else by its output group (the anchor's)."""
    if not db_dict:
        return None
    found = db_dict.get(rb.out_name, db_dict.get(rb.out_group))
    return found if isinstance(found, Mapping) else None


def _decoder_of(streamer: DataStreamer, rb: RawBuffer) -> str:
    for name, rbl in streamer.rb_lib.items():
        if any(x is rb for x in rbl):
            return name
    raise KeyError(rb.out_name)
