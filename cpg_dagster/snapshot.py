"""A compiled plan as a file: what the Dagster component stores as its state.

Loading Definitions must not compile (that parses every view and plans it in DataFusion), so the
component writes the compiled `ExecutionPlan` once (`dg utils refresh-defs-state`, or on load in
`dagster dev`) and rebuilds it from this snapshot on every load: tasks with their views, inputs,
required columns, output schemas (Arrow IPC), fingerprints and lineage; datasets; problems;
costs; the schedule; the signature. Nothing is re-derived except the task graph (cheap).

The snapshot is JSON text (bytes as base64) because Dagster's code-server state mode keeps state
as text. It is checked on load: its format and cpg version must match, and the signature
recomputed from the restored tasks must equal the stored one (the signature also covers the
sqlglot version), else `SnapshotError` says to refresh. `views_digest` hashes the view files the
plan came from, so a loader can tell that the files changed since the snapshot was taken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import msgspec

import cpg_core
from cpg_core.plan.catalog import Dataset, DatasetKind
from cpg_core.plan.compile_cache import schema_from_bytes, schema_to_bytes
from cpg_core.plan.compiler import build_task_graph, signature_of
from cpg_core.plan.costs import CostSource, TaskCost
from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_core.plan.schedule import Schedule
from cpg_core.problems import Problem
from cpg_core.project import Project
from cpg_core.views.loader import builtin_views_dir
from cpg_core.views.model import ViewDef

SNAPSHOT_FORMAT = 1


class SnapshotError(ValueError):
    """The snapshot is missing, unreadable, from another version, or does not verify."""


class TaskSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    view: ViewDef
    inputs: tuple[str, ...]
    required_columns: dict[str, tuple[str, ...]]
    output_schema: bytes | None
    fingerprint: str
    lineage: dict[str, tuple[tuple[str, str], ...]]
    admitted: bool
    problems: tuple[Problem, ...] = ()


class DatasetSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: DatasetKind
    schema: bytes | None
    rows: int | None = None
    size: int | None = None
    location: str | None = None


class CostSnapshot(msgspec.Struct, frozen=True, array_like=True):
    seconds: float
    source: CostSource


class ScheduleSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    order: tuple[str, ...]
    generations: tuple[tuple[str, ...], ...]
    costs: dict[str, float]
    bottom_level: dict[str, float]
    top_level: dict[str, float]
    slack: dict[str, float]
    critical_path: tuple[str, ...]
    critical_path_length: float


class PlanSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an `ExecutionPlan` holds except its project and graph (rebuilt on load)."""

    format: int
    cpg_version: str
    signature: str
    views_digest: str
    tasks: dict[str, TaskSnapshot]
    datasets: dict[str, DatasetSnapshot]
    problems: tuple[Problem, ...]
    costs: dict[str, CostSnapshot]
    schedule: ScheduleSnapshot
    cache_note: str | None = None


class _Header(msgspec.Struct):
    format: int = 0
    cpg_version: str = ""


_ENCODER = msgspec.json.Encoder(order="deterministic")


def views_digest(project: Project) -> str:
    """sha256 over the relative path and bytes of every view file the project loads."""
    digest = hashlib.sha256()
    folders = [*project.view_dirs, *([builtin_views_dir()] if project.include_cpg else [])]
    for folder in folders:
        digest.update(f"\0dir:{folder.name}\0".encode())
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*.sql")):
            digest.update(f"\0{file.relative_to(folder).as_posix()}\0".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def snapshot_plan(plan: ExecutionPlan, *, digest: str | None = None) -> PlanSnapshot:
    """The snapshot of `plan` (`digest` defaults to `views_digest(plan.project)`)."""
    schedule = plan.schedule
    return PlanSnapshot(
        format=SNAPSHOT_FORMAT,
        cpg_version=cpg_core.__version__,
        signature=plan.signature,
        views_digest=digest if digest is not None else views_digest(plan.project),
        tasks={
            name: TaskSnapshot(
                view=task.view,
                inputs=task.inputs,
                required_columns=dict(task.required_columns),
                output_schema=(
                    schema_to_bytes(task.output_schema) if task.output_schema is not None else None
                ),
                fingerprint=task.fingerprint,
                lineage=dict(task.lineage),
                admitted=task.admitted,
                problems=task.problems,
            )
            for name, task in plan.tasks.items()
        },
        datasets={
            name: DatasetSnapshot(
                name=d.name,
                kind=d.kind,
                schema=schema_to_bytes(d.schema) if d.schema is not None else None,
                rows=d.rows,
                size=d.bytes,
                location=d.location,
            )
            for name, d in plan.datasets.items()
        },
        problems=plan.problems,
        costs={name: CostSnapshot(c.seconds, c.source) for name, c in plan.costs.items()},
        schedule=ScheduleSnapshot(
            order=schedule.order,
            generations=schedule.generations,
            costs=dict(schedule.costs),
            bottom_level=dict(schedule.bottom_level),
            top_level=dict(schedule.top_level),
            slack=dict(schedule.slack),
            critical_path=schedule.critical_path,
            critical_path_length=schedule.critical_path_length,
        ),
        cache_note=plan.cache_note,
    )


def encode_snapshot(snapshot: PlanSnapshot) -> bytes:
    """Deterministic JSON bytes of a snapshot."""
    return _ENCODER.encode(snapshot)


def decode_snapshot(data: bytes | str) -> PlanSnapshot:
    """Parse a snapshot; `SnapshotError` when it is not one, or from another format or version."""
    try:
        header = msgspec.json.decode(data, type=_Header)
    except msgspec.DecodeError as error:
        raise SnapshotError(f"not a cpg plan snapshot: {error}") from error
    if header.format != SNAPSHOT_FORMAT or header.cpg_version != cpg_core.__version__:
        raise SnapshotError(
            f"plan snapshot format {header.format} from cpg {header.cpg_version or '?'}; "
            f"this cpg {cpg_core.__version__} reads format {SNAPSHOT_FORMAT}"
        )
    try:
        return msgspec.json.decode(data, type=PlanSnapshot)
    except msgspec.DecodeError as error:
        raise SnapshotError(f"damaged plan snapshot: {error}") from error


def _frozen(mapping: Mapping[str, object]) -> MappingProxyType:
    return MappingProxyType(dict(mapping))


def restore_plan(snapshot: PlanSnapshot, project: Project, *, verify: bool = True) -> ExecutionPlan:
    """The `ExecutionPlan` of a snapshot, for `project` (paths come from the project given, so
    a snapshot taken at image build time loads wherever the project is).

    `verify` recomputes the signature from the restored tasks and datasets and raises
    `SnapshotError` when it differs (a damaged file, or another sqlglot version)."""
    tasks = {
        name: Task(
            name=name,
            view=t.view,
            inputs=t.inputs,
            required_columns=_frozen(t.required_columns),
            output_schema=schema_from_bytes(t.output_schema) if t.output_schema else None,
            fingerprint=t.fingerprint,
            lineage=_frozen(t.lineage),
            admitted=t.admitted,
            problems=t.problems,
        )
        for name, t in snapshot.tasks.items()
    }
    datasets = {
        name: Dataset(
            name=d.name,
            kind=d.kind,
            schema=schema_from_bytes(d.schema) if d.schema else None,
            rows=d.rows,
            bytes=d.size,
            location=d.location,
        )
        for name, d in snapshot.datasets.items()
    }
    if verify:
        admitted = {name for name, t in tasks.items() if t.admitted}
        found = signature_of(tasks, datasets, admitted)
        if found != snapshot.signature:
            raise SnapshotError(
                f"plan snapshot does not verify: signature {found[:12]} != stored "
                f"{snapshot.signature[:12]} (damaged, or written by other library versions)"
            )
    s = snapshot.schedule
    schedule = Schedule(
        order=s.order,
        generations=s.generations,
        costs=s.costs,
        bottom_level=s.bottom_level,
        top_level=s.top_level,
        slack=s.slack,
        critical_path=s.critical_path,
        critical_path_length=s.critical_path_length,
    )
    graph, node_index = build_task_graph(tasks, datasets)
    return ExecutionPlan(
        project=project,
        tasks=MappingProxyType(tasks),
        datasets=MappingProxyType(datasets),
        problems=snapshot.problems,
        costs=MappingProxyType(
            {n: TaskCost(c.seconds, c.source) for n, c in snapshot.costs.items()}
        ),
        schedule=schedule,
        signature=snapshot.signature,
        graph=graph,
        node_index=MappingProxyType(node_index),
        cache_note=snapshot.cache_note,
    )


def write_snapshot(plan: ExecutionPlan, path: Path) -> PlanSnapshot:
    """Write the snapshot of `plan` to `path` atomically (a temporary file, then a rename)."""
    snapshot = snapshot_plan(plan)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(encode_snapshot(snapshot))
    temporary.replace(path)
    return snapshot


def read_snapshot(path: Path) -> PlanSnapshot:
    """Read and parse a snapshot file (`SnapshotError` when absent or not readable)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SnapshotError(f"cannot read plan snapshot {path}: {error}") from error
    return decode_snapshot(data)
