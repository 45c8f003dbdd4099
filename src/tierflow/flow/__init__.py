"""Whole productions through every tier, locally or on Dask: configs, plans, executors.

A production config names the input files (patterns with ``{key}`` fields: experiment,
period, run, data type, timestamp), an output path template per tier, each tier's config and
the calibration store. :func:`make_plan` makes one task per file (or run) and tier with their
dependencies, skipping outputs newer than their inputs made with the same config;
:func:`run_plan` runs the rest on an executor (in-process, local processes, Dask distributed).
Each output is written under a temporary name, gets its provenance (tierflow version, config
hash, inputs, calibration versions) as attributes, and is renamed at the end; a failing file
is reported and does not stop the others, and a task whose worker died runs again.

Example
-------
>>> from tierflow.flow import make_plan, run_plan
>>> plan = make_plan("production.yaml")  # doctest: +SKIP
>>> report = run_plan(plan, "processes", workers=2)  # doctest: +SKIP
>>> print(report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

from tierflow.flow._config import (
    CalibSettings,
    ProductionConfig,
    config_hash,
    make_production_config,
)
from tierflow.flow._executors import (
    EXECUTORS,
    DaskExecutor,
    Executor,
    ExecutorKind,
    InProcessExecutor,
    ProcessExecutor,
    make_executor,
)
from tierflow.flow._files import FileKey, find_inputs
from tierflow.flow._plan import Plan, Task, TaskState, make_plan
from tierflow.flow._provenance import Provenance, read_provenance, staged_output
from tierflow.flow._runner import RunReport, run_plan
from tierflow.flow._steps import STEPS, Scope, Step, StepContext, make_step
from tierflow.flow._task import TaskResult, WorkerLost, run_task

__all__ = [
    "EXECUTORS",
    "STEPS",
    "CalibSettings",
    "DaskExecutor",
    "Executor",
    "ExecutorKind",
    "FileKey",
    "InProcessExecutor",
    "Plan",
    "ProcessExecutor",
    "ProductionConfig",
    "Provenance",
    "RunReport",
    "Scope",
    "Step",
    "StepContext",
    "Task",
    "TaskResult",
    "TaskState",
    "WorkerLost",
    "config_hash",
    "find_inputs",
    "make_executor",
    "make_plan",
    "make_production_config",
    "make_step",
    "read_provenance",
    "run_plan",
    "run_task",
    "staged_output",
]
