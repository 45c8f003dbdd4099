"""Executors: where tasks run — in this process, in local processes, or on Dask distributed.

Each executor submits a task and waits for the first of its running tasks to finish; a lost
worker shows as :class:`WorkerLost` from :meth:`Executor.result`, and the runner submits the
task again.
"""

from __future__ import annotations

import abc
import enum
import os
import uuid
from collections.abc import Callable, Collection
from concurrent import futures as cf
from typing import Any, ClassVar

from tierflow.errors import ConfigError, OptionalDependencyError
from tierflow.flow._plan import Task
from tierflow.flow._task import TaskResult, WorkerLost, run_task
from tierflow.registry import Registry
from tierflow.shutdown import skip_final_collections

__all__ = [
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "ExecutorKind",
    "InProcessExecutor",
    "ProcessExecutor",
    "make_executor",
]

TaskFunction = Callable[[Task], TaskResult]


class ExecutorKind(str, enum.Enum):
    """The executors built in."""

    INPROCESS = "inprocess"
    PROCESSES = "processes"
    DASK = "dask"


class Executor(abc.ABC):
    """Runs tasks somewhere; a context manager owning its workers."""

    kind: ClassVar[ExecutorKind]

    def __init__(self, workers: int | None = None, function: TaskFunction = run_task) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.function = function

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release the workers."""

    @abc.abstractmethod
    def submit(self, task: Task) -> Any:
        """Start `task`; returns a future."""

    @abc.abstractmethod
    def wait(self, running: Collection[Any]) -> set[Any]:
        """Block until at least one of `running` is finished; returns the finished ones."""

    @abc.abstractmethod
    def result(self, future: Any) -> TaskResult:
        """The result of a finished future; raises :class:`WorkerLost` when its worker died."""


class InProcessExecutor(Executor):
    """Runs each task here, one after the other (debugging, tests, tiny runs)."""

    kind = ExecutorKind.INPROCESS

    def submit(self, task: Task) -> Any:
        future: cf.Future[TaskResult] = cf.Future()
        future.set_result(self.function(task))
        return future

    def wait(self, running: Collection[Any]) -> set[Any]:
        return set(running)

    def result(self, future: Any) -> TaskResult:
        return future.result()  # type: ignore[no-any-return]


class ProcessExecutor(Executor):
    """Local worker processes (default: one per core); a dead worker's pool is replaced."""

    kind = ExecutorKind.PROCESSES

    def __init__(self, workers: int | None = None, function: TaskFunction = run_task) -> None:
        super().__init__(workers, function)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")
            self._pool = cf.ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=skip_final_collections
            )
        return self._pool

    def submit(self, task: Task) -> Any:
        try:
            return self._get_pool().submit(self.function, task)
        except cf.process.BrokenProcessPool:
            self._replace_pool()
            return self._get_pool().submit(self.function, task)

    def _replace_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def wait(self, running: Collection[Any]) -> set[Any]:
        done, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
        return set(done)

    def result(self, future: Any) -> TaskResult:
        try:
            return future.result()  # type: ignore[no-any-return]
        except cf.process.BrokenProcessPool as error:
            self._replace_pool()
            raise WorkerLost(str(error)) from error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise OptionalDependencyError(
            "the Dask executor needs dask distributed: pip install 'tierflow[flow]' "
            "(or pip install 'dask[distributed]')"
        ) from error
    return distributed


class DaskExecutor(Executor):
    """Dask distributed: a scheduler at `address`, or a ``LocalCluster`` of `workers`
    single-threaded worker processes. The scheduler re-runs the task of a worker that died."""

    kind = ExecutorKind.DASK

    def __init__(
        self,
        workers: int | None = None,
        function: TaskFunction = run_task,
        address: str | None = None,
    ) -> None:
        super().__init__(workers, function)
        self._distributed = _import_distributed()
        self._cluster = None
        if address is None:
            self._cluster = self._distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=40,
            )  # fmt: skip
            address = self._cluster.scheduler_address
        self.client = self._distributed.Client(address)

    def submit(self, task: Task) -> Any:
        key = f"{task.id}-{uuid.uuid4().hex[:8]}"
        return self.client.submit(self.function, task, key=key, pure=False)

    def wait(self, running: Collection[Any]) -> set[Any]:
        done, _ = self._distributed.wait(list(running), return_when="FIRST_COMPLETED")
        return set(done)

    def result(self, future: Any) -> TaskResult:
        try:
            return future.result()  # type: ignore[no-any-return]
        except self._distributed.KilledWorker as error:
            raise WorkerLost(str(error)) from error
        finally:
            # a finished task's result must not live on: if its worker died later, the
            # scheduler would run the task again and rewrite an output already used downstream
            future.release()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


EXECUTORS: Registry[type[Executor]] = Registry("executor", entry_point_group="tierflow.executors")
"""Executor name → class."""
for _cls in (InProcessExecutor, ProcessExecutor, DaskExecutor):
    EXECUTORS.add(_cls.kind.value, _cls)


def make_executor(
    kind: ExecutorKind | str = ExecutorKind.PROCESSES,
    workers: int | None = None,
    *,
    address: str | None = None,
    function: TaskFunction = run_task,
) -> Executor:
    """An executor by name: ``inprocess``, ``processes`` (default) or ``dask``.

    Example
    -------
    >>> with make_executor("inprocess") as ex:
    ...     ex.workers
    1
    """
    name = kind.value if isinstance(kind, ExecutorKind) else str(kind)
    cls = EXECUTORS[name]
    if address is not None:
        if cls is not DaskExecutor:
            raise ConfigError(f"a scheduler address needs the dask executor, not {name!r}")
        return DaskExecutor(workers, function, address=address)
    if cls is InProcessExecutor:
        workers = 1
    return cls(workers, function)
