"""`cpg test`: run the data tests against the store, without building.

Failures go to stdout (so CI logs show them), the summary too; `--json` prints the
`DataTestReport` instead. Exit 0 when no error-severity test failed or errored (warnings do not
count), 1 otherwise, 2 when the tests cannot run at all (bad project or selection, no store).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click
import msgspec

from cpg_core.project import Project


def run_test_command(
    project: Project,
    *,
    store: Path | None,
    select: Sequence[str],
    timeout_s: float | None,
    memory_limit_mb: int | None,
    fresh: bool,
    as_json: bool,
    cache: bool,
) -> None:
    """Compile, run the tests, print; exits with the code the module docstring describes."""
    from cpg_core.checks.evaluate import Limits
    from cpg_core.checks.report import result_lines, summary_line
    from cpg_core.checks.run import SelectionError, run_tests
    from cpg_core.plan.compiler import compile_plan

    started = time.perf_counter()
    root = store.resolve() if store is not None else project.store
    if not root.is_dir():
        click.echo(f"no store at {root}: run `cpg build` first or pass --store", err=True)
        sys.exit(2)
    plan = compile_plan(project, cache=cache)
    if plan.problems:
        click.echo(
            f"{len(plan.problems)} compile problem(s) (`cpg plan` lists them); "
            "tests of views that are not admitted are reported as errors",
            err=True,
        )
    limits = Limits(
        timeout_s=timeout_s,
        memory_limit_bytes=memory_limit_mb * 2**20 if memory_limit_mb is not None else None,
    )
    try:
        report = run_tests(
            plan, store=root, select=list(select) or None, limits=limits, use_cache=not fresh
        )
    except SelectionError as error:
        click.echo(f"--select: {error}", err=True)
        sys.exit(2)
    if as_json:
        sys.stdout.write(msgspec.json.encode(report, order="deterministic").decode() + "\n")
    else:
        for result in report.results:
            for line in result_lines(result):
                click.echo(line)
        click.echo(summary_line(report, time.perf_counter() - started))
    sys.exit(0 if report.ok else 1)
