"""One build of a project, end to end: compile → scan and extract → sources → views into the store.

Why one function: the CLI (`cpg build`), Dagster and the benchmarks must run the very same steps,
so "what a build is" lives here once. Progress is reported through one callback receiving typed
events (the store's task events plus the stage events below), never printed here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pyarrow as pa

from cpg_core.execute.build import BuildError, RunResult, build
from cpg_core.execute.config import SERIAL, ExecutorConfig
from cpg_core.execute.sources import (
    InputTable,
    SourceReadError,
    SourceTable,
    read_table,
    source_input,
)
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project, SourceSpec
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


def repo_of(project: Project, repo: Path | str | None) -> Path | None:
    """The repository whose CPG is built: `repo`, else the project's, else None."""
    chosen = Path(repo) if repo is not None else project.repo
    return chosen.resolve() if chosen is not None else None


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
) -> ProjectRun:
    """Build `project` (or the `select`ed views) into `store` (default: the project's store).

    `upstream=False` builds exactly the selected views, reading their inputs from the store;
    `refresh_evidence=False` also reads the evidence tables from the store instead of
    extracting the repository (they must have been built before). `store_evidence` names
    evidence tables to extract and store even when no selected view reads them.

    Raises `BuildError` naming the failing view; outputs written before it stay in the store.
    """
    started = time.perf_counter()
    emit: OnEvent = on_event or (lambda _event: None)
    store_path = Path(store).resolve() if store is not None else project.store
    # compile against the store being built: its compile cache and measured durations
    project = dataclasses.replace(project, store=store_path)
    if plan is None:
        emit(StageStart(stage="compile"))
        t0 = time.perf_counter()
        plan = compile_project(project)
        emit(
            StageFinish(
                stage="compile", seconds=time.perf_counter() - t0, detail=f"{len(plan.tasks)} views"
            )
        )
    # One build at a time per store, extraction included: a second build waits (or fails with
    # "store is busy") before extracting, instead of repeating the extraction and then failing.
    # The lock is re-entrant in this process, so `build` below shares it.
    with DeltaStore(store_path).run_lock(f"cpg build_project of {project.root}"):
        result, summary = _extract_and_build(
            project,
            plan,
            repo=repo,
            store_path=store_path,
            config=config,
            select=select,
            upstream=upstream,
            refresh_evidence=refresh_evidence,
            store_evidence=store_evidence,
            workers=extract_workers or config.concurrency,
            emit=emit,
        )
    return ProjectRun(plan, result, summary, time.perf_counter() - started)


def _extract_and_build(
    project: Project,
    plan: ExecutionPlan,
    *,
    repo: Path | str | None,
    store_path: Path,
    config: ExecutorConfig,
    select: Sequence[str] | None,
    upstream: bool,
    refresh_evidence: bool,
    store_evidence: Sequence[str],
    workers: int,
    emit: OnEvent,
) -> tuple[RunResult, ExtractSummary | None]:
    needed = _needed_inputs(plan, select, upstream)
    inputs: dict[str, InputTable] = {}
    summary: ExtractSummary | None = None
    evidence_needed = sorted(
        {n for n in needed if _kind(plan, n) == "evidence"} | set(store_evidence)
    )
    errors_stored: list[str] = []
    if evidence_needed and (refresh_evidence or store_evidence):
        root = repo_of(project, repo)
        if root is None:
            raise PipelineError(
                "the project includes the CPG views but names no repository: "
                "pass a repository (cpg build REPO) or set `repo` in the project file"
            )
        tables, summary = _extract(root, store_path, workers, emit)
        inputs.update({n: tables[n] for n in evidence_needed})
        if not store_evidence and ERRORS_TABLE in plan.datasets:
            # Every file that could not be extracted is in the store, whether a view reads
            # `extract_errors` or not (a caller naming what to store, e.g. Dagster, decides).
            inputs[ERRORS_TABLE] = tables[ERRORS_TABLE]
            errors_stored.append(ERRORS_TABLE)
        emit(StageStart(stage="evidence", total=len({*evidence_needed, *errors_stored})))
    sources = [s for s in project.sources if s.name in needed]
    if sources:
        emit(StageStart(stage="sources", total=len(sources)))
        t0 = time.perf_counter()
        for spec in sources:
            inputs[spec.name] = lazy_source(spec, plan, store_path)
        emit(StageFinish(stage="sources", seconds=time.perf_counter() - t0))
    result = build(
        plan,
        store=store_path,
        inputs=inputs,
        config=config,
        select=select,
        upstream=upstream,
        on_event=emit,
        store_inputs=[*store_evidence, *errors_stored],
    )
    return result, summary


def _kind(plan: ExecutionPlan, name: str) -> str | None:
    dataset = plan.datasets.get(name)
    return dataset.kind if dataset is not None else None


def _needed_inputs(plan: ExecutionPlan, select: Sequence[str] | None, upstream: bool) -> list[str]:
    """Input tables (evidence, sources) the build of this selection reads."""
    from cpg_core.execute.build import scope_of

    return scope_of(plan, select, upstream).table_inputs


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


def lazy_source(spec: SourceSpec, plan: ExecutionPlan, store: Path) -> SourceTable:
    """A source input whose rows are read only if a view reading it runs (`execute.sources`)."""
    dataset = plan.datasets.get(spec.name)
    try:
        return source_input(spec, dataset.schema if dataset else None, store)
    except SourceReadError as error:
        raise PipelineError(str(error)) from error


def read_source_table(spec: SourceSpec) -> pa.Table:
    """The rows of an external source (Parquet, CSV or Delta), as views see them."""
    try:
        return read_table(spec)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise PipelineError(
            f"source {spec.name!r} ({spec.format}, {spec.path}): {error}"
        ) from error


__all__ = [
    "BuildError",
    "BuildEvent",
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
    "repo_of",
]
