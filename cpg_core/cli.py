"""The `cpg` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cpg_core.project import Project

_FORMATS = ("text", "json", "dot", "mermaid", "node-link")
# The values of `ExecutionMode` and `ExecutorKind` (cpg_core.execute.config), spelled out so that
# defining the options does not import the executor (Hamilton); tests/test_cli_startup.py pins
# that they stay equal.
MODES = ("serial", "parallel", "remote")
KINDS = ("threads", "processes", "ray", "dask")


def _resolve_project(project: Path | None, views: tuple[Path, ...], no_cpg: bool) -> Project:
    """--project, else --views, else a cpg.toml / pyproject [tool.cpg] here, else the built-in CPG."""
    from cpg_core.project import Project, ProjectError, load_project

    if project is not None:
        return load_project(project)
    if views:
        return Project.from_views(list(views), include_cpg=not no_cpg)
    here = Path.cwd()
    for candidate in (here / "cpg.toml", here / "pyproject.toml"):
        if candidate.is_file():
            try:
                return load_project(candidate)
            except ProjectError:
                if candidate.name == "cpg.toml":
                    raise
    return Project.from_views([], include_cpg=True)


_project_options = [
    click.option(
        "--project", "project", type=click.Path(path_type=Path), help="cpg.toml or pyproject.toml"
    ),
    click.option(
        "--views",
        "views",
        multiple=True,
        type=click.Path(path_type=Path),
        help="a folder of .sql views (repeatable)",
    ),
    click.option("--no-cpg", is_flag=True, help="with --views: leave the built-in CPG views out"),
    click.option("--no-cache", is_flag=True, help="ignore the persistent compile cache"),
]


def project_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(_project_options):
        func = option(func)
    return func


@click.group()
@click.version_option(package_name="cpg")
def main() -> None:
    """cpg: code property graphs of Python repositories as a compiled graph of SQL views."""


@main.command("plan")
@project_options
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="text", show_default=True)
@click.option(
    "--strict", is_flag=True, help="any problem fails the compile (exit 1, nothing admitted)"
)
def plan_command(
    project: Path | None,
    views: tuple[Path, ...],
    no_cpg: bool,
    no_cache: bool,
    fmt: str,
    strict: bool,
) -> None:
    """Compile the views and print the schedule and every problem (exit 1 when there are any)."""
    from cpg_core.plan.compiler import CompileError, compile_plan
    from cpg_core.project import ProjectError

    try:
        compiled = compile_plan(
            _resolve_project(project, views, no_cpg), cache=not no_cache, strict=strict
        )
    except ProjectError as error:
        raise click.UsageError(str(error)) from error
    except CompileError as error:
        for problem in error.problems:
            click.echo(problem.format(), err=True)
        click.echo(f"strict compile failed: {len(error.problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(render_plan(compiled, fmt), nl=False)
    if compiled.problems:
        if fmt != "text":
            for problem in compiled.problems:
                click.echo(problem.format(), err=True)
        sys.exit(1)


def render_plan(compiled: object, fmt: str) -> str:
    """The plan in one of the output formats."""
    import json

    import msgspec

    from cpg_core.artifacts.envelope import wrap
    from cpg_core.artifacts.from_plan import (
        schedule_artifact,
        semantic_registry,
        validation_artifact,
    )
    from cpg_core.plan import diagnostics
    from cpg_core.plan.execution_plan import ExecutionPlan
    from cpg_core.plan.text_report import plan_report

    assert isinstance(compiled, ExecutionPlan)
    if fmt == "dot":
        return diagnostics.to_dot(compiled)
    if fmt == "mermaid":
        return diagnostics.to_mermaid(compiled)
    if fmt == "node-link":
        return diagnostics.to_node_link_json(compiled) + "\n"
    if fmt == "json":
        payload = {
            "schedule": wrap(schedule_artifact(compiled)),
            "validation": wrap(validation_artifact(compiled)),
            "semantic_registry": wrap(semantic_registry(compiled)),
        }
        return json.dumps(msgspec.to_builtins(payload), indent=2, sort_keys=True) + "\n"
    return plan_report(compiled)


@main.command("views")
@project_options
def views_command(
    project: Path | None, views: tuple[Path, ...], no_cpg: bool, no_cache: bool
) -> None:
    """List the views with their dependencies, fingerprints and admission."""
    from cpg_core.plan.compiler import compile_plan
    from cpg_core.project import ProjectError

    try:
        compiled = compile_plan(_resolve_project(project, views, no_cpg), cache=not no_cache)
    except ProjectError as error:
        raise click.UsageError(str(error)) from error
    width = max((len(n) for n in compiled.tasks), default=4)
    click.echo(f"{'view':<{width}}  {'fingerprint':<12}  {'status':<8}  reads")
    for name, task in sorted(compiled.tasks.items()):
        status = "ok" if task.admitted else "invalid"
        if task.view.materialize == "inline":
            status += "*"
        fingerprint = task.fingerprint[:12] or "-"
        click.echo(
            f"{name:<{width}}  {fingerprint:<12}  {status:<8}  {', '.join(task.inputs) or '-'}"
        )
    click.echo(f"{len(compiled.tasks)} views, {len(compiled.schedule.order)} admitted (* = inline)")


@main.command("schemas")
@click.option(
    "--write",
    "write_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="write the files here",
)
def schemas_command(write_dir: Path | None) -> None:
    """Print (or write) the JSON Schemas of every artifact contract."""
    from cpg_core.artifacts.schema_export import schema_texts, write_schemas

    if write_dir is not None:
        for path in write_schemas(write_dir):
            click.echo(str(path))
        return
    for name, text in schema_texts().items():
        click.echo(f"# {name}\n{text}")


@main.command("build")
@click.argument("repo", required=False, type=click.Path(path_type=Path, file_okay=False))
@project_options
@click.option("--store", type=click.Path(path_type=Path), help="store folder (default: project's)")
@click.option("--mode", type=click.Choice(MODES), default="serial", show_default=True)
@click.option("--executor", "kind", type=click.Choice(KINDS), help="threads|processes|ray|dask")
@click.option("--max-tasks", type=int, help="tasks at once in parallel/remote mode (default 2)")
@click.option("--remote-threshold", type=float, help="remote mode: planned seconds to go remote")
@click.option(
    "--memory-limit",
    "memory_limit_mb",
    type=click.IntRange(min=1),
    metavar="MIB",
    help="memory the views' queries may hold (MiB); beyond it they spill to disk",
)
@click.option("--select", multiple=True, help="build only these views and their upstream")
@click.option("--only", is_flag=True, help="with --select: read upstream views from the store")
@click.option("--json", "as_json", is_flag=True, help="print the run manifest as JSON")
def build_command(
    repo: Path | None,
    project: Path | None,
    views: tuple[Path, ...],
    no_cpg: bool,
    no_cache: bool,
    store: Path | None,
    mode: str,
    kind: str | None,
    max_tasks: int | None,
    remote_threshold: float | None,
    memory_limit_mb: int | None,
    select: tuple[str, ...],
    only: bool,
    as_json: bool,
) -> None:
    """Build the CPG of REPO (default: the project's repo, else .) and the views into the store.

    Exit 0 on success, 1 when a view fails (its name, error and what was kept are printed),
    2 when the build cannot start (bad project, store busy).
    """
    from cpg_core.cli_build import executor_config, run_build
    from cpg_core.project import ProjectError

    config = executor_config(mode, kind, max_tasks, remote_threshold, memory_limit_mb)
    try:
        resolved = _resolve_project(project, views, no_cpg)
    except ProjectError as error:
        raise click.ClickException(str(error)) from error
    if repo is None and resolved.repo is None and resolved.include_cpg:
        repo = Path.cwd()
    run_build(
        resolved,
        repo=repo,
        store=store,
        config=config,
        select=select,
        only=only,
        as_json=as_json,
    )


@main.command("query")
@click.argument("sql")
@click.option(
    "--store", type=click.Path(path_type=Path), default=Path(".cpg/store"), show_default=True
)
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table")
@click.option("--limit", type=int, default=50, show_default=True, help="rows shown as a table")
def query_command(sql: str, store: Path, fmt: str, limit: int) -> None:
    """Run a read-only SQL query over the stored tables (latest versions)."""
    from cpg_core.cli_store import print_table, query_store

    if not store.is_dir():
        raise click.ClickException(f"no store at {store}: run `cpg build` first or pass --store")
    try:
        table = query_store(store, sql)
    except Exception as error:  # DataFusion raises plain exceptions with the SQL error
        raise click.ClickException(f"query failed: {error}") from error
    print_table(table, fmt, limit)


@main.command("status")
@click.option(
    "--store", type=click.Path(path_type=Path), default=Path(".cpg/store"), show_default=True
)
def status_command(store: Path) -> None:
    """Where to look after a build: the stored tables, and how to query them or open the UI."""
    if not store.is_dir():
        raise click.ClickException(f"no store at {store}: run a build first")
    from rich.console import Console

    from cpg_core.cli_store import status_table

    console = Console()
    console.print(status_table(store))
    console.print(
        f"query:  cpg query --store {store} "
        '"SELECT node_kind, count(*) AS n FROM cpg_nodes GROUP BY node_kind ORDER BY n DESC"\n'
        "UI:     DAGSTER_HOME=$PWD/.dagster dagster dev -w workspace.yaml  "
        "→ http://127.0.0.1:3000 (assets, lineage, runs)"
    )


if __name__ == "__main__":
    main()
