"""The plan: one task per file (or run) and tier, their dependencies, what is up to date."""

from __future__ import annotations

import enum
import graphlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tierflow.errors import ConfigError, NotFoundError
from tierflow.flow._config import CalibSettings, ProductionConfig, config_hash
from tierflow.flow._files import FileKey, find_inputs, format_path
from tierflow.flow._provenance import read_provenance
from tierflow.flow._steps import DAQ, STEPS, Scope, make_step

__all__ = ["Plan", "Task", "TaskState", "make_plan"]

RUN_DROP = ("timestamp",)
"""Keys dropped from a file's keys to name its run."""


class TaskState(enum.Enum):
    """Where a task stands."""

    PENDING = "pending"
    UP_TO_DATE = "up-to-date"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"  # an input task failed or is missing
    MISSING = "missing"  # not selected to run, and its output is not there


@dataclass(frozen=True)
class Task:
    """One step over one file or run: everything a worker needs, picklable."""

    id: str
    tier: str
    keys: Mapping[str, str]
    inputs: Mapping[str, tuple[Path, ...]]
    output: Path
    deps: tuple[str, ...]
    config: Mapping[str, Any]
    config_hash: str
    root: Path
    calib: CalibSettings = field(default_factory=CalibSettings)

    def input_files(self) -> list[Path]:
        return [p for files in self.inputs.values() for p in files]


@dataclass
class Plan:
    """Tasks in dependency order, with what needs running.

    Example
    -------
    >>> plan = make_plan("production.yaml")  # doctest: +SKIP
    >>> [t.id for t in plan.pending()]  # doctest: +SKIP
    """

    tasks: dict[str, Task]
    state: dict[str, TaskState]

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks.values())

    def __len__(self) -> int:
        return len(self.tasks)

    def pending(self) -> list[Task]:
        """The tasks to run, in dependency order."""
        return [t for t in self if self.state[t.id] is TaskState.PENDING]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.state.values():
            out[s.value] = out.get(s.value, 0) + 1
        return out


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return float("inf")


def is_up_to_date(task: Task) -> bool:
    """The output exists, is newer than every input and was made with this config."""
    if not task.output.exists():
        return False
    made = _mtime(task.output)
    if any(_mtime(p) > made for p in task.input_files()):
        return False
    return read_provenance(task.output).get("config_hash") == task.config_hash


def _needed(tier: str, tiers: Sequence[str]) -> list[str]:
    cls = STEPS[tier]
    missing = [n for n in cls.needs if n != DAQ and n not in tiers]
    if missing:
        raise ConfigError(f"tier {tier!r} needs {missing}, which are not in 'tiers'", obj=tier)
    return list(cls.needs) + [n for n in cls.optional_needs if n in tiers]


def _tier_order(tiers: Sequence[str]) -> list[str]:
    for tier in tiers:
        if tier not in STEPS:
            raise NotFoundError(f"no tier step {tier!r}", obj=tier, candidates=STEPS)
    sorter = graphlib.TopologicalSorter(
        {t: [n for n in _needed(t, tiers) if n != DAQ] for t in tiers}
    )
    return list(sorter.static_order())


def make_plan(
    config: ProductionConfig | Mapping[str, Any] | str | os.PathLike[str],
    tiers: Sequence[str] | None = None,
    force: bool = False,
) -> Plan:
    """Tasks for every input file and tier of a production, marking those up to date.

    A task is up to date when its output is newer than its inputs, carries the current config
    hash, and no task it depends on will run. `tiers` restricts the run to some tiers (their
    inputs must exist); `force` runs everything.
    """
    from tierflow.flow._config import make_production_config

    prod = config if isinstance(config, ProductionConfig) else make_production_config(config)
    inputs = find_inputs(prod.inputs, prod.root)
    if not inputs:
        raise NotFoundError(f"no input files match {list(prod.inputs)} under {prod.root}")
    order = _tier_order(prod.tiers)
    tasks: dict[str, Task] = {}
    index: dict[tuple[str, FileKey], str] = {}
    for tier in order:
        for task in _tier_tasks(prod, tier, inputs, index):
            tasks[task.id] = task
    selected = set(tiers) if tiers is not None else set(order)
    unknown = sorted(selected - set(order))
    if unknown:
        raise NotFoundError(
            f"tier {unknown[0]!r} is not in the production", obj=unknown[0], candidates=order
        )
    state: dict[str, TaskState] = {}
    for task in tasks.values():
        run = force or any(state.get(d) is TaskState.PENDING for d in task.deps)
        run = run or not is_up_to_date(task)
        if task.tier not in selected:
            state[task.id] = TaskState.UP_TO_DATE if task.output.exists() else TaskState.MISSING
            continue
        state[task.id] = TaskState.PENDING if run else TaskState.UP_TO_DATE
    return Plan(tasks, state)


def _tier_tasks(
    prod: ProductionConfig,
    tier: str,
    inputs: Mapping[FileKey, Path],
    index: dict[tuple[str, FileKey], str],
) -> list[Task]:
    step = make_step(tier, prod.step_config(tier), prod.root)
    needs = _needed(tier, prod.tiers)
    digest = config_hash({"tier": tier, "config": step.config})
    groups: dict[FileKey, list[FileKey]] = {}
    for key in inputs:
        group = key if step.scope is Scope.FILE else key.group(RUN_DROP)
        groups.setdefault(group, []).append(key)
    out = []
    for group, members in groups.items():
        ins: dict[str, tuple[Path, ...]] = {}
        deps: list[str] = []
        for need in needs:
            ins[need], more = _inputs_of(need, group, members, inputs, index, prod)
            deps += more
        output = format_path(prod.output_template(tier), group.as_dict(), prod.root)
        task_id = f"{tier}:{group}"
        out.append(
            Task(task_id, tier, group.as_dict(), ins, output, tuple(dict.fromkeys(deps)),
                 step.config, digest, prod.root, prod.calib)
        )  # fmt: skip
        index[(tier, group)] = task_id
    return out


def _inputs_of(
    need: str,
    group: FileKey,
    members: Sequence[FileKey],
    inputs: Mapping[FileKey, Path],
    index: Mapping[tuple[str, FileKey], str],
    prod: ProductionConfig,
) -> tuple[tuple[Path, ...], list[str]]:
    if need == DAQ:
        return tuple(inputs[k] for k in members), []
    keys = [group.group(RUN_DROP)] if STEPS[need].scope is Scope.RUN else list(members)
    template = prod.output_template(need)
    files = tuple(format_path(template, k.as_dict(), prod.root) for k in keys)
    return files, [index[(need, k)] for k in keys]
