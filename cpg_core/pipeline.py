"""One build of a project, end to end: compile → scan and extract → sources → views into the store.

Why one function: the CLI (`cpg build`), Dagster and the benchmarks must run the very same steps,
so "what a build is" lives here once. Progress is reported through one callback receiving typed
events (the store's task events plus the stage events below), never printed here.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

from cpg_core.execute.build import RunResult, execute_run
from cpg_core.execute.errors import BuildError
from cpg_core.execute.run import Run, prepare_run
from cpg_core.execute.scope import scope_of
from cpg_core.execute.sources import (
    InputTable,
    SourceReadError,
    SourceTable,
    read_table,
    source_input,
)
from cpg_core.extract.scan import RepositoryUnavailableError, check_repository
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project, SourceSpec, with_overrides
from cpg_core.settings import SERIAL, ExecutorConfig
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import EventPayload


class StageStart(msgspec.Struct, frozen=True, kw_only=True, tag="stage_start"):
    """A stage begins: `scan`, `extract`, `sources` or `views`."""

    stage: str
    total: int | None = None


class StageProgress(msgspec.Struct, frozen=True, kw_only=True, tag="stage_progress"):
    """Work done so far in a stage (`done` of `total` units of its own kind)."""

    stage: str
    done: int
    total: int
    detail: str | None = None


class StageFinish(msgspec.Struct, frozen=True, kw_only=True, tag="stage_finish"):
    stage: str
    seconds: float
    detail: str | None = None


ERRORS_TABLE = "extract_errors"

BuildEvent = EventPayload | StageStart | StageProgress | StageFinish
OnEvent = Callable[[BuildEvent], None]


@dataclass(frozen=True)
class ExtractSummary:
    """What extraction did: files seen, files (re-)extracted, files whose evidence was reused."""

    files: int
    extracted: tuple[str, ...]
    reused: int
    removed: tuple[str, ...]
    seconds: float
    errors: int = 0  # rows of `extract_errors`: files (and folders) that could not be extracted


@dataclass(frozen=True)
class ProjectRun:
    """A finished build: the plan it ran, the run's result (manifest + tables), extraction."""

    plan: ExecutionPlan
    result: RunResult
    extract: ExtractSummary | None
    seconds: float


class PipelineError(RuntimeError):
    """The build could not start (no repository for the CPG, a source that cannot be read)."""


def compile_project(project: Project, *, cache: bool = True) -> ExecutionPlan:
    """The project's plan (compile cache in the store unless `cache=False`)."""
    return compile_plan(project, cache=cache)


def build_project(
    project: Project,
    *,
    repo: Path | str | None = None,
    store: Path | str | None = None,
    config: ExecutorConfig = SERIAL,
    select: Sequence[str] | None = None,
    upstream: bool = True,
    plan: ExecutionPlan | None = None,
    extract_workers: int | None = None,
    refresh_evidence: bool = True,
    store_evidence: Sequence[str] = (),
    on_event: OnEvent | None = None,
    lock_owner: str | None = None,
    tests: Collection[str] | None = None,
) -> ProjectRun:
    """Build `project` (or the `select`ed views) into `store` (default: the project's store).

    `upstream=False` builds exactly the selected views, reading their inputs from the store;
    `refresh_evidence=False` also reads the evidence tables from the store instead of
    extracting the repository (they must have been built before). `store_evidence` names
    evidence tables to extract and store even when no selected view reads them. The store lock
    is held from extraction to the commit (`lock_owner` is what a waiting build is told).
    `tests`: the data tests to run, by id (None: every test of the views it builds; empty:
    none) — each right after the tables it reads are computed; an error-severity failure
    stops the views downstream of the view it checks (`RunManifest.blocked`).

    Raises `BuildError` naming the failing view; outputs written before it stay in the store.
    """
    started = time.perf_counter()
    emit: OnEvent = on_event or (lambda _event: None)
    # compile against the store being built: its compile cache and measured durations
    project = with_overrides(project, repo=repo, store=store)
    plan = plan or _compile(project, emit)
    scope = scope_of(plan, select, upstream)
    extract = bool(store_evidence) or (
        refresh_evidence and bool(scope.inputs_of_kind(plan, "evidence"))
    )
    stored = [*store_evidence]
    if extract and not store_evidence and ERRORS_TABLE in plan.datasets:
        # Every file that could not be extracted is in the store, whether a view reads
        # `extract_errors` or not (a caller naming what to store, e.g. Dagster, decides).
        stored.append(ERRORS_TABLE)
    run = prepare_run(
        plan,
        DeltaStore(project.store, lock_timeout_s=config.lock_timeout_s),
        config=config,
        scope=scope.storing(stored),
        on_event=emit,
        tests=tests,
    )
    # One build at a time per store, extraction included: a second build waits (or fails with
    # "store is busy") before extracting, instead of repeating the extraction and then failing.
    with run.store.run_lock(lock_owner or f"cpg build_project of {project.root}"):
        inputs, summary = _gather_inputs(project, run, extract, extract_workers, emit)
        result = execute_run(run, inputs)
    return ProjectRun(plan, result, summary, time.perf_counter() - started)


class BuildStream:
    """`build_project` run in a worker thread, its events iterated as they happen.

    Iterating yields every build event (each table's in dependency order) and ends when the
    build does; it then raises the build's error, if any, or leaves the finished run in
    `result`. How Dagster's asset body streams a build (like dagster-dbt's `stream()`)."""

    def __init__(self, project: Project, **options: Any) -> None:
        self._project = project
        self._options = options
        self.result: ProjectRun | None = None

    def __iter__(self) -> Iterator[BuildEvent]:
        events: queue.Queue[BuildEvent | _End] = queue.Queue()
        outcome: list[ProjectRun | BaseException] = []

        def work() -> None:
            try:
                outcome.append(build_project(self._project, on_event=events.put, **self._options))
            except BaseException as error:  # raised on the iterating thread
                outcome.append(error)
            finally:
                events.put(_END)

        worker = threading.Thread(target=work, name="cpg-build", daemon=True)
        worker.start()
        while not isinstance(item := events.get(), _End):
            yield item
        worker.join()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        self.result = outcome[0]


class _End:
    """The end of a build's event stream."""


_END = _End()


def _compile(project: Project, emit: OnEvent) -> ExecutionPlan:
    emit(StageStart(stage="compile"))
    t0 = time.perf_counter()
    plan = compile_project(project)
    seconds = time.perf_counter() - t0
    emit(StageFinish(stage="compile", seconds=seconds, detail=f"{len(plan.tasks)} views"))
    return plan


def _gather_inputs(
    project: Project, run: Run, extract: bool, workers: int | None, emit: OnEvent
) -> tuple[dict[str, InputTable], ExtractSummary | None]:
    """The input tables of the run's scope: extracted evidence and (lazily read) sources."""
    plan, scope = run.plan, run.scope
    inputs: dict[str, InputTable] = {}
    summary: ExtractSummary | None = None
    if extract:
        if project.repo is None:
            raise PipelineError(
                "the project includes the CPG views but names no repository: "
                "pass a repository (cpg build REPO) or set `repo` in the project file"
            )
        try:
            check_repository(project.repo)
        except RepositoryUnavailableError as error:
            raise PipelineError(str(error)) from error
        tables, summary = _extract(project.repo, project.store, workers, emit)
        evidence = scope.inputs_of_kind(plan, "evidence")
        inputs.update({n: tables[n] for n in evidence})
        emit(StageStart(stage="evidence", total=len(evidence)))
    sources = [s for s in project.sources if s.name in scope.table_inputs]
    if sources:
        emit(StageStart(stage="sources", total=len(sources)))
        t0 = time.perf_counter()
        for spec in sources:
            columns = run.partitions.driver_columns(scope.views, spec.name)
            if columns:
                inputs[spec.name] = driving_source(spec, plan, columns)
            else:
                inputs[spec.name] = lazy_source(spec, plan, project.store)
        emit(StageFinish(stage="sources", seconds=time.perf_counter() - t0))
    return inputs, summary


def _extract(
    root: Path, store: Path, workers: int | None, emit: OnEvent
) -> tuple[dict[str, pa.Table], ExtractSummary]:
    """Evidence tables of `root`, re-extracting only the files changed since the store's last build.

    The incremental state lives in `<store>/_cpg/extract`. The tables come back with their
    partition maps (by `path`), which are remembered so the build neither hashes them again nor
    stores more than the partitions (files) that changed. `workers`: None means one per core.
    """
    from cpg_core.execute.versions import remember_partitions
    from cpg_core.extract.hamilton_exec import default_workers
    from cpg_core.extract.incremental import extract_incremental
    from cpg_core.extract.progress import ExtractProgress

    started = False

    def on_progress(update: ExtractProgress) -> None:
        # The unit count is known once the scan is compared with the state: start the stage then.
        nonlocal started
        if not started:
            started = True
            emit(StageStart(stage="extract", total=update.total))
        if update.done:
            emit(
                StageProgress(
                    stage="extract", done=update.done, total=update.total, detail=update.unit
                )
            )

    result = extract_incremental(
        root,
        state_dir=store / "_cpg" / "extract",
        workers=workers or default_workers(),
        progress=on_progress,
    )
    if not started:
        emit(StageStart(stage="extract", total=0))
    for name, table in result.tables.items():
        remember_partitions(table, result.partitions[name])
    detail = f"{result.files} files, {len(result.extracted)} extracted, {result.reused} reused"
    if result.removed:
        detail += f", {len(result.removed)} removed"
    errors = result.tables[ERRORS_TABLE].num_rows
    if errors:
        detail += f", {errors} in extract_errors"
    if result.note:
        detail += f"; {result.note}"
    emit(StageFinish(stage="extract", seconds=result.seconds, detail=detail))
    summary = ExtractSummary(
        result.files, result.extracted, result.reused, result.removed, result.seconds, errors
    )
    return result.tables, summary


def lazy_source(spec: SourceSpec, plan: ExecutionPlan, store: Path) -> SourceTable:
    """A source input whose rows are read only if a view reading it runs (`execute.sources`)."""
    dataset = plan.datasets.get(spec.name)
    try:
        return source_input(spec, dataset.schema if dataset else None, store)
    except SourceReadError as error:
        raise PipelineError(str(error)) from error


def driving_source(spec: SourceSpec, plan: ExecutionPlan, columns: Sequence[str]) -> pa.Table:
    """A source that drives partition-incremental views of the build (by `columns`), read now.

    Its data version must be its partition map's (what the run state records and the next
    build compares), so it is not lazy: a Parquet source is read file by file, its partition
    maps from the files' bytes (`store.source_files`: no decode-and-sort of the whole source to
    find one changed day), remembered on the table; any other (CSV, Delta, a folder whose
    partition column is not in the files) is read whole and the run hashes it by partition."""
    from cpg_core.execute.versions import remember_partitions
    from cpg_core.store.source_files import NotByFile, read_by_file

    dataset = plan.datasets.get(spec.name)
    schema = dataset.schema if dataset else None
    if spec.format != "parquet":
        return read_source_table(spec, schema)
    try:
        table, maps = read_by_file(spec.path, columns, schema)
    except NotByFile:
        return read_source_table(spec, schema)  # hashed by its rows instead
    except (OSError, ValueError, pa.ArrowException) as error:
        raise PipelineError(
            f"source {spec.name!r} ({spec.format}, {spec.path}): {error}"
        ) from error
    for pmap in maps:
        remember_partitions(table, pmap)
    return table


def read_source_table(spec: SourceSpec, schema: pa.Schema | None = None) -> pa.Table:
    """The rows of an external source (Parquet, CSV or Delta), as views see them (`schema`:
    the compiled one, when known)."""
    try:
        return read_table(spec, schema)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise PipelineError(
            f"source {spec.name!r} ({spec.format}, {spec.path}): {error}"
        ) from error


__all__ = [
    "BuildError",
    "BuildEvent",
    "BuildStream",
    "ExtractSummary",
    "OnEvent",
    "PipelineError",
    "ProjectRun",
    "StageFinish",
    "StageProgress",
    "StageStart",
    "build_project",
    "compile_project",
    "read_source_table",
]
