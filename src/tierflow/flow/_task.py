"""Running one task in a worker: the step into a staged output, provenance, a result."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from dataclasses import dataclass

from tierflow.flow._plan import Task
from tierflow.flow._provenance import Provenance, staged_output, write_provenance
from tierflow.flow._steps import StepContext, make_step

__all__ = ["TaskResult", "WorkerLost", "run_task"]

log = logging.getLogger(__name__)


class WorkerLost(RuntimeError):  # noqa: N818 - an event, not a programming error
    """The worker running a task died (killed, out of memory); the task can run again."""


@dataclass(frozen=True)
class TaskResult:
    """How a task went: its error (type, message, traceback) when it failed."""

    task_id: str
    ok: bool
    seconds: float
    error: str = ""
    details: str = ""
    output_bytes: int = 0
    input_bytes: int = 0
    worker: int = 0


def _size(paths: list[os.PathLike[str] | str]) -> int:
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def _load_hdf5_filters() -> None:
    """Register the HDF5 compression plugins (Zstd...) in this worker: some tier readers go
    to h5py directly, and a fresh process does not know the filters until hdf5plugin loads."""
    with contextlib.suppress(ImportError):
        import hdf5plugin  # noqa: F401


def run_task(task: Task) -> TaskResult:
    """Run `task`: the output appears, with its provenance, only when the step succeeded.

    Any exception of the step is caught and returned in the result (one bad file must not stop
    a production); a killed worker loses only the temporary file, removed on the next try.
    """
    start = time.perf_counter()
    _load_hdf5_filters()
    try:
        step = make_step(task.tier, task.config, task.root)
        with staged_output(task.output) as temp:
            calib = step.run(task.inputs, temp, StepContext(task.keys, task.calib))
            inputs = [str(p) for p in task.input_files()]
            prov = Provenance(task.tier, task.config_hash, inputs, dict(calib or {}))
            write_provenance(temp, prov)
    except Exception as error:  # isolate the failure of one file, report it
        log.debug("task %s failed", task.id, exc_info=True)
        return TaskResult(
            task.id,
            False,
            time.perf_counter() - start,
            f"{type(error).__name__}: {error}",
            traceback.format_exc(limit=8),
            worker=os.getpid(),
        )
    return TaskResult(
        task.id,
        True,
        time.perf_counter() - start,
        output_bytes=_size([task.output]),
        input_bytes=_size(list(task.input_files())),
        worker=os.getpid(),
    )
