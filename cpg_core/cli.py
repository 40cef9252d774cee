"""The `cpg` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click

from cpg_core.settings import ExecutionMode, ExecutorKind, setting_fields

if TYPE_CHECKING:
    from cpg_core.project import Project

_FORMATS = ("text", "json", "dot", "mermaid", "node-link")
HAMILTON_AUTOLOAD_ENV = "HAMILTON_AUTOLOAD_EXTENSIONS"  # hamilton.registry's switch, read at import


_FLAGS = {  # CLI spellings where they differ from the setting's name
    "remote_threshold_s": "--remote-threshold",
    "memory_limit_mb": "--memory-limit",
    "lock_timeout_s": "--lock-timeout",
}
_CHOICES = {"mode": tuple(m.value for m in ExecutionMode), "executor": get_args(ExecutorKind)}


def settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """One option per build setting (`ExecutorConfig`): name, help and default from there."""
    for field in reversed(setting_fields()):
        flag = _FLAGS.get(field.name, "--" + field.name.replace("_", "-"))
        kind: Any = (
            click.Choice(_CHOICES[field.name])
            if field.name in _CHOICES
            else type(field.default)
            if field.default is not None
            else int
        )
        shown = f" [default: {field.default}]" if field.default is not None else ""
        func = click.option(flag, field.name, type=kind, help=field.description + shown)(func)
    return func


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
    # cpg's own process: Hamilton's plug-ins for DataFrame libraries are never used (cpg's nodes
    # pass Arrow tables) and loading them is half of a build's start-up
    # (docs/dependencies.md#hamilton-plugin-autoload). An explicit setting of the user's wins.
    os.environ.setdefault(HAMILTON_AUTOLOAD_ENV, "0")


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
    """List the views with their dependencies, fingerprints, admission and documented columns."""
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
        for doc in task.view.columns:  # `@column` lines: name, declared type, description
            declared = f": {doc.type}{' not null' if doc.not_null else ''}" if doc.type else ""
            described = f" -- {doc.description}" if doc.description else ""
            click.echo(f"    {doc.name}{declared}{described}")
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
@settings_options
@click.option("--select", multiple=True, help="build only these views and their upstream")
@click.option("--only", is_flag=True, help="with --select: read upstream views from the store")
@click.option("--json", "as_json", is_flag=True, help="print the run manifest as JSON")
@click.option("--no-tests", is_flag=True, help="build without running the data tests")
def build_command(
    repo: Path | None,
    project: Path | None,
    views: tuple[Path, ...],
    no_cpg: bool,
    no_cache: bool,
    store: Path | None,
    select: tuple[str, ...],
    only: bool,
    as_json: bool,
    no_tests: bool,
    **settings: Any,
) -> None:
    """Build the CPG of REPO (default: the project's repo, else .) and the views into the store.

    Each view's data tests run right after it is computed; a failing error-severity test stops
    the views downstream of it (they are reported as blocked, not built).

    Exit 0 on success (warnings included), 1 when a view fails (its name, error and what was
    kept are printed), an error-severity test fails or a view has problems, 2 when the build
    cannot start (bad project, store busy).
    """
    from cpg_core.cli_build import executor_config, run_build
    from cpg_core.project import ProjectError

    config = executor_config(settings)
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
        tests=not no_tests,
    )


@main.command("test")
@project_options
@click.option("--store", type=click.Path(path_type=Path), help="store folder (default: project's)")
@click.option(
    "--select",
    multiple=True,
    help="a view (all its tests), VIEW.TEST, or a singular test (repeatable)",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    help="seconds one test may run",
)
@click.option(
    "--memory-limit",
    "memory_limit_mb",
    type=click.IntRange(min=1),
    metavar="MIB",
    help="memory one test's query may hold (MiB); beyond it it spills, then fails",
)
@click.option("--fresh", is_flag=True, help="ignore cached results: evaluate every test")
@click.option("--json", "as_json", is_flag=True, help="print the test report as JSON")
def test_command(
    project: Path | None,
    views: tuple[Path, ...],
    no_cpg: bool,
    no_cache: bool,
    store: Path | None,
    select: tuple[str, ...],
    timeout_s: float | None,
    memory_limit_mb: int | None,
    fresh: bool,
    as_json: bool,
) -> None:
    """Run the data tests (@test, @keys, contracts, tests/*.sql) against the store, no build.

    Results of unchanged tables come from the cache. Exit 0 when no error-severity test fails,
    1 when one fails or cannot be evaluated, 2 when the tests cannot run.
    """
    from cpg_core.cli_test import run_test_command
    from cpg_core.project import ProjectError

    try:
        resolved = _resolve_project(project, views, no_cpg)
    except ProjectError as error:
        raise click.ClickException(str(error)) from error
    run_test_command(
        resolved,
        store=store,
        select=select,
        timeout_s=timeout_s,
        memory_limit_mb=memory_limit_mb,
        fresh=fresh,
        as_json=as_json,
        cache=not no_cache,
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
        "UI:     DAGSTER_HOME=$PWD/.dagster dg dev -w workspace.yaml  "
        "→ http://127.0.0.1:3000 (assets, lineage, runs)"
    )


if __name__ == "__main__":
    main()
