"""`cpg build`: run a project into the store, with progress and a summary.

Progress and the summary go to stderr (rich), so `--json` output on stdout stays machine-readable.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cpg_core.pipeline import BuildEvent, ProjectRun, StageFinish, StageProgress, StageStart
from cpg_core.project import Project
from cpg_core.settings import (
    ExecutorConfig,
    ExecutorConfigError,
    config_from,
)
from cpg_core.store.events import InputStored, RunStart, TaskError, TaskFinish


class BuildProgress:
    """Turns build events into a rich progress display (thread-safe: events come from workers)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.executed = 0

    def __enter__(self) -> BuildProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _task(self, stage: str, total: int | None) -> TaskID:
        if stage not in self._tasks:
            self._tasks[stage] = self.progress.add_task(stage, total=total, note="")
        return self._tasks[stage]

    def __call__(self, event: BuildEvent) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: BuildEvent) -> None:
        match event:
            case StageStart(stage=stage, total=total):
                self._task(stage, total)
            case StageProgress(stage=stage, done=done, total=total, detail=detail):
                self.progress.update(
                    self._task(stage, total), completed=done, total=total, note=detail or ""
                )
            case StageFinish(stage=stage, seconds=seconds, detail=detail):
                task = self._task(stage, 1)
                total = next(t.total for t in self.progress.tasks if t.id == task) or 1
                note = f"{detail or ''} ({seconds:.2f} s)".strip()
                self.progress.update(task, completed=total, total=total, note=note)
            case RunStart(tasks=tasks):
                self._task("views", tasks)
            case InputStored(task=name, rows=rows, written=written):
                state = "stored" if written else "unchanged"
                self.progress.update(
                    self._task("evidence", None), advance=1, note=f"{name} {state}"
                )
                self.console.print(f"  [dim]evidence[/] {name}: {rows:,} rows, {state}")
            case TaskFinish(task=view, rows=rows, duration_s=seconds, cache_hit=hit):
                if hit:
                    self.hits += 1
                else:
                    self.executed += 1
                note = f"{self.executed} run, {self.hits} cached"
                self.progress.update(self._task("views", None), advance=1, note=note)
                how = "[cyan]cached[/]" if hit else f"{seconds:.2f} s"
                self.console.print(f"  [green]✓[/] {view}: {rows or 0:,} rows, {how}")
            case TaskError(task=view, error=error):
                self.console.print(f"  [red]✗ {view}[/]: {error}")
            case _:
                pass


def summary_table(run: ProjectRun) -> Table:
    """One row per output: rows, data version, Delta version, whether it ran or came from cache."""
    manifest = run.result.manifest
    hits = {c.view for c in manifest.cache if c.hit}
    table = Table(title=f"cpg build {manifest.run_id[:12]} ({manifest.duration_s:.2f} s)")
    for column in ("view", "rows", "status", "delta version", "data version"):
        table.add_column(column, justify="right" if column in ("rows", "delta version") else "left")
    for output in manifest.outputs:
        status = "cached" if output.name in hits else "built"
        if not output.written and output.name not in hits:
            status = "built, unchanged"
        table.add_row(
            output.name,
            f"{output.rows:,}",
            status,
            str(output.delta_version),
            output.data_version[:12],
        )
    return table


def executor_config(settings: Mapping[str, Any]) -> ExecutorConfig:
    """The typed executor configuration from the CLI's setting options."""
    try:
        return config_from(settings)
    except ExecutorConfigError as error:
        raise click.BadParameter(str(error)) from error


def run_build(
    project_obj: Project,
    *,
    repo: Path | None,
    store: Path | None,
    config: ExecutorConfig,
    select: Sequence[str],
    only: bool,
    as_json: bool,
) -> None:
    """Run the build with progress; print the summary (or the manifest as JSON); exit 1 on failure."""
    from cpg_core.execute.errors import BuildError
    from cpg_core.pipeline import PipelineError, build_project
    from cpg_core.store.errors import StoreError

    console = Console(stderr=True)
    try:
        with BuildProgress(console) as progress:
            run = build_project(
                project_obj,
                repo=repo,
                store=store,
                config=config,
                select=list(select) or None,
                upstream=not only,
                on_event=progress,
            )
    except BuildError as error:
        console.print(f"[bold red]build failed[/]: {error}")
        if error.view is not None:
            console.print(f"failing view: [bold]{error.view}[/]")
        console.print(f"kept in the store: {', '.join(error.kept) or 'nothing new'}")
        sys.exit(1)
    except (PipelineError, StoreError) as error:
        console.print(f"[bold red]cannot build[/]: {error}")
        sys.exit(2)
    if as_json:
        sys.stdout.write(msgspec.json.encode(run.result.manifest).decode() + "\n")
        _report_problems(run, console)
        return
    console.print(summary_table(run))
    where = store.resolve() if store is not None else project_obj.store
    extract = run.extract
    if extract is not None:
        console.print(
            f"extraction: {extract.files} files, {len(extract.extracted)} extracted, "
            f"{extract.reused} reused ({extract.seconds:.2f} s)"
        )
        if extract.errors:
            console.print(
                f"{extract.errors} extraction problem(s): "
                f"cpg query --store {where} 'SELECT * FROM extract_errors'",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    example = (
        "SELECT node_kind, count(*) AS n FROM cpg_nodes GROUP BY node_kind ORDER BY n DESC"
        if "cpg_nodes" in run.plan.tasks
        else f"SELECT * FROM {run.result.manifest.outputs[-1].name} LIMIT 10"
        if run.result.manifest.outputs
        else "SELECT 1"
    )
    console.print(f"store: {where}\nquery it: cpg query --store {where} {example!r}")
    _report_problems(run, console)


def _report_problems(run: ProjectRun, console: Console) -> None:
    """Invalid views were not built: list every problem and exit 1 (the rest is in the store)."""
    if run.plan.problems:
        not_built = [n for n, t in run.plan.tasks.items() if not t.admitted]
        console.print(f"[bold red]{len(run.plan.problems)} problem(s)[/]:")
        for problem in run.plan.problems:
            console.print(f"  {problem.format()}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"{len(not_built)} view(s) not built: {', '.join(sorted(not_built))}")
        sys.exit(1)
