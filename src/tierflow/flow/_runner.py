"""Running a plan: tasks submitted as their inputs are ready, failures isolated and reported."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tierflow.flow._executors import Executor, ExecutorKind, make_executor
from tierflow.flow._plan import Plan, Task, TaskState
from tierflow.flow._task import TaskResult, WorkerLost

__all__ = ["RunReport", "run_plan"]

log = logging.getLogger("tierflow.flow")

MAX_ATTEMPTS = 3
"""Tries per task when its worker dies (a failing step is not tried again)."""


@dataclass
class RunReport:
    """What a run did: the state of every task, failures with their errors, timings."""

    plan: Plan
    results: dict[str, TaskResult] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked

    @property
    def failed(self) -> list[str]:
        return [t for t, s in self.plan.state.items() if s is TaskState.FAILED]

    @property
    def blocked(self) -> list[str]:
        return [t for t, s in self.plan.state.items() if s is TaskState.BLOCKED]

    def tier_seconds(self) -> dict[str, float]:
        """Summed task time per tier."""
        out: dict[str, float] = {}
        for tid, res in self.results.items():
            tier = self.plan.tasks[tid].tier
            out[tier] = out.get(tier, 0.0) + res.seconds
        return out

    def summary(self) -> str:
        """A few lines: counts, time, each failure with its error."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.plan.counts().items()))
        lines = [f"{len(self.plan)} tasks in {self.seconds:.1f} s: {counts}"]
        lines += [f"FAILED {tid}: {self.results[tid].error}" for tid in self.failed]
        lines += [f"blocked {tid}: an input failed or is missing" for tid in self.blocked]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "counts": self.plan.counts(),
            "failed": {t: self.results[t].error for t in self.failed},
            "blocked": self.blocked,
            "tier_seconds": self.tier_seconds(),
        }


class _Progress:
    def __init__(self, total: int, show: bool | None) -> None:
        self.bar = None
        if (sys.stderr.isatty() if show is None else show) and total:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc="tasks", unit="task")
            except ImportError:
                pass

    def update(self, task: Task, result: TaskResult) -> None:
        status = "done" if result.ok else f"FAILED ({result.error})"
        if self.bar is not None:
            self.bar.update(1)
            if not result.ok:
                self.bar.write(f"{task.id}: {status}")
        else:
            log.info("%s: %s in %.2f s", task.id, status, result.seconds)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _ready(task: Task, state: Mapping[str, TaskState]) -> bool | None:
    """True when every input task is done, None when one failed, False otherwise."""
    deps = [state[d] for d in task.deps]
    if any(s in (TaskState.FAILED, TaskState.BLOCKED, TaskState.MISSING) for s in deps):
        return None
    return all(s in (TaskState.DONE, TaskState.UP_TO_DATE) for s in deps)


def run_plan(
    plan: Plan,
    executor: Executor | ExecutorKind | str = ExecutorKind.PROCESSES,
    workers: int | None = None,
    progress: bool | None = None,
) -> RunReport:
    """Run the pending tasks of `plan`; returns the report (the plan's states are updated).

    Example
    -------
    >>> report = run_plan(make_plan("production.yaml"), "processes")  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    """
    if isinstance(executor, Executor):
        return _run(plan, executor, progress)
    with make_executor(executor, workers) as owned:
        return _run(plan, owned, progress)


def _run(plan: Plan, executor: Executor, progress: bool | None) -> RunReport:
    report = RunReport(plan)
    start = time.perf_counter()
    waiting = plan.pending()
    bar = _Progress(len(waiting), progress)
    running: dict[Any, Task] = {}
    try:
        while waiting or running:
            waiting = _submit_ready(waiting, plan, executor, running, report)
            if not running:
                break
            for future in executor.wait(running):
                _collect(future, running.pop(future), plan, executor, running, report, bar)
    finally:
        bar.close()
    report.seconds = time.perf_counter() - start
    return report


def _submit_ready(
    waiting: Sequence[Task],
    plan: Plan,
    executor: Executor,
    running: dict[Any, Task],
    report: RunReport,
) -> list[Task]:
    rest = []
    for task in waiting:
        ready = _ready(task, plan.state)
        if ready is None:
            plan.state[task.id] = TaskState.BLOCKED
        elif ready:
            report.attempts[task.id] = report.attempts.get(task.id, 0) + 1
            running[executor.submit(task)] = task
        else:
            rest.append(task)
    return rest


def _collect(
    future: Any,
    task: Task,
    plan: Plan,
    executor: Executor,
    running: dict[Any, Task],
    report: RunReport,
    bar: _Progress,
) -> None:
    try:
        result = executor.result(future)
    except WorkerLost as error:
        if report.attempts[task.id] < MAX_ATTEMPTS:
            log.warning("%s: worker lost (%s); running it again", task.id, error)
            report.attempts[task.id] += 1
            running[executor.submit(task)] = task
            return
        result = TaskResult(task.id, False, 0.0, f"WorkerLost: {error}")
    report.results[task.id] = result
    plan.state[task.id] = TaskState.DONE if result.ok else TaskState.FAILED
    bar.update(task, result)
