"""Fault injection for tests and drills: a task function that kills its worker once."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from tierflow.flow._plan import Task
from tierflow.flow._task import TaskResult, run_task

__all__ = ["KillOnce"]


@dataclass(frozen=True)
class KillOnce:
    """Runs tasks normally, except that the first try of task `target` kills its worker
    process (SIGKILL) halfway, after leaving a partial temporary output behind. `marker`
    records that it happened (it survives the worker)."""

    target: str
    marker: Path

    def __call__(self, task: Task) -> TaskResult:
        if task.id == self.target and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            partial = task.output.parent / f".{task.output.name}.dead0000.flow.tmp"
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(b"partial")
            os.kill(os.getpid(), signal.SIGKILL)
        return run_task(task)
