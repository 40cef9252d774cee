"""One build of a project, end to end: compile → scan and extract → sources → views into the store.

Why one function: the CLI (`cpg build`), Dagster and the benchmarks must run the very same steps,
so "what a build is" lives here once. Progress is reported through one callback receiving typed
events (the store's task events plus the stage events below), never printed here.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads

from cpg_core.execute.build import RunResult, execute_run
from cpg_core.execute.errors import BuildError
from cpg_core.execute.run import Run, prepare_run
from cpg_core.execute.scope import scope_of
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
) -> ProjectRun:
    """Build `project` (or the `select`ed views) into `store` (default: the project's store).

    `upstream=False` builds exactly the selected views, reading their inputs from the store;
    `refresh_evidence=False` also reads the evidence tables from the store instead of
    extracting the repository (they must have been built before). `store_evidence` names
    evidence tables to extract and store even when no selected view reads them. The store lock
    is held from extraction to the commit (`lock_owner` is what a waiting build is told).

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
) -> tuple[dict[str, pa.Table], ExtractSummary | None]:
    """The input tables of the run's scope: extracted evidence and read sources."""
    plan, scope = run.plan, run.scope
    inputs: dict[str, pa.Table] = {}
    summary: ExtractSummary | None = None
    if extract:
        if project.repo is None:
            raise PipelineError(
                "the project includes the CPG views but names no repository: "
                "pass a repository (cpg build REPO) or set `repo` in the project file"
            )
        tables, summary = _extract(
            project.repo, project.store, workers or run.config.concurrency, emit
        )
        evidence = scope.inputs_of_kind(plan, "evidence")
        inputs.update({n: tables[n] for n in evidence})
        emit(StageStart(stage="evidence", total=len(evidence)))
    sources = [s for s in project.sources if s.name in scope.table_inputs]
    if sources:
        emit(StageStart(stage="sources", total=len(sources)))
        t0 = time.perf_counter()
        for spec in sources:
            inputs[spec.name] = read_source_table(spec)
        emit(StageFinish(stage="sources", seconds=time.perf_counter() - t0))
    return inputs, summary


def _extract(
    root: Path, store: Path, workers: int, emit: OnEvent
) -> tuple[dict[str, pa.Table], ExtractSummary]:
    """Evidence tables of `root`, re-extracting only the files changed since the store's last build.

    The incremental state lives in `<store>/_cpg/extract`. The tables come back canonical with
    their data versions, which are handed to `remember` so the build does not hash them again.
    """
    from cpg_core.execute.versions import remember
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
        root, state_dir=store / "_cpg" / "extract", workers=workers, progress=on_progress
    )
    if not started:
        emit(StageStart(stage="extract", total=0))
    for name, table in result.tables.items():
        remember(table, result.data_versions[name])
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


def read_source_table(spec: SourceSpec) -> pa.Table:
    """The rows of an external source (Parquet, CSV or Delta)."""
    try:
        if spec.format == "delta":
            from deltalake import DeltaTable

            return DeltaTable(str(spec.path)).to_pyarrow_table()
        if spec.format == "csv":
            return pacsv.read_csv(spec.path)
        return pads.dataset(spec.path, format="parquet").to_table()
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
