"""A minimal FlashCam FCIO writer: the protocol header, one config record, sparse events.

Frames are tmio's: a record starts with its negated tag (int32), then frames of
``int32 size`` + ``size`` bytes. Only what the raw tier's FCIO decoder reads is written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from tierflow.files import publish

__all__ = ["FCIOConfig", "FCIOWriter", "SparseEvents"]

PROTOCOL_TAG = -1000000001
PROTOCOL = b"FlashCamV1"
TAG_CONFIG = 1
TAG_SPARSE_EVENT = 6
MAX_TICKS = 249_999_999  # 4 ns ticks per second


def _frame(data: bytes) -> bytes:
    return len(data).to_bytes(4, "little", signed=True) + data


def _int_frame(*values: int) -> bytes:
    return _frame(np.asarray(values, "<i4").tobytes())


@dataclass(frozen=True)
class FCIOConfig:
    """Readout settings of one FCIO stream (16-bit ADCs, 16 ns samples).

    `tracemap` holds ``(card address << 16) + card input`` per trace; the raw tier names
    each trace's table ``ch<address * 100 + input>`` (stream id 0).
    """

    tracemap: tuple[int, ...]
    nsamples: int = 800
    blprecision: int = 1
    sumlength: int = 1
    streamid: int = 0

    @property
    def ntraces(self) -> int:
        return len(self.tracemap)

    def to_bytes(self) -> bytes:
        """The config record."""
        ints = (self.ntraces, 0, self.nsamples, self.blprecision, self.sumlength, 16, 1, 0, 1, 0)
        body = b"".join(_int_frame(v) for v in ints)
        body += _frame(np.asarray(self.tracemap, "<u4").tobytes())
        body += _int_frame(self.streamid)
        return (-TAG_CONFIG).to_bytes(4, "little", signed=True) + body


@dataclass
class SparseEvents:
    """Events to write: per event a time and the traces that triggered.

    ``event_of_trace`` (sorted) gives the event of each trace row, ``trace`` its index in the
    tracemap, ``waveforms`` its samples and ``daqenergy`` the FPGA energy estimate.
    """

    time_ns: npt.NDArray[np.int64]
    event_of_trace: npt.NDArray[np.int64]
    trace: npt.NDArray[np.int64]
    waveforms: npt.NDArray[np.uint16]
    baseline: npt.NDArray[np.uint16]
    daqenergy: npt.NDArray[np.uint16]
    start_unix_s: int = 1_700_000_000
    extra: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time_ns.size)


class FCIOWriter:
    """Writes an FCIO file: the header and config first, then blocks of events.

    The file appears under its name only when :meth:`close` succeeds (temporary name first).

    Example
    -------
    >>> import tempfile
    >>> cfg = FCIOConfig(tracemap=((1 << 16) + 0,), nsamples=4)
    >>> path = tempfile.mkdtemp() + "/run.fcio"
    >>> with FCIOWriter(path, cfg) as w:
    ...     pass
    >>> open(path, "rb").read(12)[4:]
    b'FlashCam'
    """

    def __init__(self, path: str | os.PathLike[str], config: FCIOConfig) -> None:
        self.path = Path(path)
        self.config = config
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._temp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._file.write(PROTOCOL_TAG.to_bytes(4, "little", signed=True))
        self._file.write(PROTOCOL.ljust(64, b"\0"))
        self._file.write(config.to_bytes())
        self._eventnumber = 0

    def write(self, events: SparseEvents) -> None:
        """Append `events` as sparse-event records."""
        bounds = np.searchsorted(events.event_of_trace, np.arange(len(events) + 1))
        header = np.zeros((events.waveforms.shape[0], 2), "<u2")
        header[:, 0] = events.baseline * self.config.blprecision
        header[:, 1] = events.daqenergy
        traces = np.concatenate([header, events.waveforms.astype("<u2")], axis=1)
        parts = []
        for e in range(len(events)):
            lo, hi = int(bounds[e]), int(bounds[e + 1])
            parts.append(self._event(events, e, traces[lo:hi], events.trace[lo:hi]))
        self._file.write(b"".join(parts))

    def _event(
        self,
        events: SparseEvents,
        e: int,
        traces: npt.NDArray[np.uint16],
        tracelist: npt.NDArray[np.int64],
    ) -> bytes:
        t = int(events.time_ns[e])
        timeoffset = [events.start_unix_s, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        timestamp = [self._eventnumber, t // 1_000_000_000, (t % 1_000_000_000) // 4, MAX_TICKS]
        self._eventnumber += 1
        head = [
            (-TAG_SPARSE_EVENT).to_bytes(4, "little", signed=True),
            _int_frame(1),  # event type: normal trigger
            _frame(np.zeros(1, "<f4").tobytes()),  # pulser
            _int_frame(*timeoffset),
            _int_frame(*timestamp, *([0] * 6)),
            _int_frame(*([0] * 10)),  # dead region
            _int_frame(len(tracelist)),
            _frame(np.asarray(tracelist, "<u2").tobytes()),
        ]
        return b"".join(head) + b"".join(_frame(row.tobytes()) for row in traces)

    def close(self) -> None:
        """Finish the file and give it its name."""
        self._file.close()
        os.chmod(self._temp, 0o644)
        publish(self._temp, self.path)

    def abort(self) -> None:
        """Drop the partial file."""
        self._file.close()
        Path(self._temp).unlink(missing_ok=True)

    def __enter__(self) -> FCIOWriter:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
