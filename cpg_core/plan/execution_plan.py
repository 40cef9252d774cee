"""The ExecutionPlan: compiled once per run, immutable, the single source of truth downstream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import msgspec
import pyarrow as pa
import rustworkx as rx

from cpg_core.plan.catalog import Dataset
from cpg_core.plan.costs import TaskCost
from cpg_core.plan.schedule import Schedule
from cpg_core.plan.singular_tests import SingularTest
from cpg_core.problems import Problem
from cpg_core.project import Project
from cpg_core.views.model import ViewDef

Lineage = Mapping[str, tuple[tuple[str, str], ...]]


class Task(msgspec.Struct, frozen=True, kw_only=True):
    """One view as compiled. `admitted` tasks are in the schedule; the rest are reported only.

    A plan record: it encodes itself (`cpg_core.plan.plan_file`)."""

    name: str
    view: ViewDef
    inputs: tuple[str, ...]
    required_columns: Mapping[str, tuple[str, ...]]
    output_schema: pa.Schema | None
    fingerprint: str
    lineage: Lineage
    admitted: bool
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class ExecutionPlan:
    """Views, datasets, the bipartite task graph, validation, costs, schedule and signature."""

    project: Project
    tasks: Mapping[str, Task]
    datasets: Mapping[str, Dataset]
    problems: tuple[Problem, ...]
    costs: Mapping[str, TaskCost]
    schedule: Schedule
    signature: str
    graph: rx.PyDiGraph = field(repr=False)
    node_index: Mapping[tuple[str, str], int] = field(repr=False)
    cache_note: str | None = None
    singular_tests: tuple[SingularTest, ...] = ()  # `tests/*.sql`: not tasks, never stored

    # -- views of the plan ---------------------------------------------------------------------

    @property
    def valid(self) -> bool:
        """True when the compile found no problem at all."""
        return not self.problems

    @property
    def admitted(self) -> tuple[str, ...]:
        """Admitted task names in schedule order."""
        return self.schedule.order

    def view_inputs(self, task: str) -> tuple[str, ...]:
        """The inputs of `task` that are views (as opposed to evidence or source tables)."""
        return tuple(name for name in self.tasks[task].inputs if name in self.tasks)

    def consumers(self) -> dict[str, tuple[str, ...]]:
        """Task name → the tasks that read its output, sorted."""
        out: dict[str, list[str]] = {name: [] for name in self.tasks}
        for name, task in self.tasks.items():
            for upstream in task.inputs:
                if upstream in out:
                    out[upstream].append(name)
        return {name: tuple(sorted(readers)) for name, readers in out.items()}

    def task_edges(self) -> list[tuple[str, str]]:
        """Upstream view → downstream view pairs among all tasks, sorted."""
        return sorted((u, t) for t in self.tasks for u in self.view_inputs(t))

    def input_schemas(self, task: str) -> dict[str, pa.Schema]:
        """Schemas of every input of `task` (views and datasets)."""
        schemas: dict[str, pa.Schema] = {}
        for name in self.tasks[task].inputs:
            dataset = self.datasets.get(name)
            if dataset is not None and dataset.schema is not None:
                schemas[name] = dataset.schema
        return schemas

    def problems_for(self, names: Iterable[str]) -> tuple[Problem, ...]:
        """Problems of the given views."""
        wanted = set(names)
        return tuple(p for p in self.problems if p.view in wanted)


def freeze(mapping: Mapping[str, object]) -> Mapping[str, object]:
    """A read-only view of a dict (plans are shared across threads and must not change)."""
    return MappingProxyType(dict(mapping))
