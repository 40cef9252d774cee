"""Data tests in builds and `cpg test`: the synthetic 100-view project with 3 declared tests per
view (plus the `keys_unique` each `@keys: row_id` implies: 400 tests).

Measured, in one process: the real integrated build with its tests against the same build
without them (`tests=()`), alternating, `--repeats` times each, cold (a fresh store each time:
every view computed and written, every test evaluated) and warm (a rebuild of an unchanged
store: views from the cache, test results from the cache); then `run_tests` (`cpg test`'s work)
first and cached, alone and with the compile; then the `cpg test` command itself in a fresh
process, cold and cached, and the imports it needs. Also the compile's cost of checking the
tests (the project with and without its `@test` lines, cold and warm compile). Targets: a
build with tests <= 1.15x one without; `cpg test` on an unchanged store <= 0.2 s per 100 tests
once cached.

    .venv/bin/python -m benchmarks.bench_data_tests [--views 100] [--tests-per-view 3]
        [--repeats 5] [--json]
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import benchmark_parser, fmt, load_1min, stats, timed
from cpg_core.checks.run import run_tests
from cpg_core.pipeline import build_project
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project, load_project
from tests.synthetic_project import generate_project

REPEATS = 5


def _seconds(action: Callable[[], object]) -> float:
    return timed(action)[0]


def _command(root: Path, *args: str) -> float:
    seconds, done = timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "cpg_core.cli", "test", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr)
    return seconds


def _imports(statement: str) -> float:
    """Median wall time of a fresh interpreter running `statement` (imports only)."""
    return statistics.median(
        _seconds(lambda: subprocess.run([sys.executable, "-c", statement], check=True))
        for _ in range(REPEATS)
    )


def _builds(
    project: Project, plan: ExecutionPlan, root: Path, repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Seconds of builds with and without tests, alternating: cold into a fresh store, then
    warm (the same store rebuilt with nothing changed)."""
    times: dict[str, dict[str, list[float]]] = {
        "cold": {"with": [], "without": []},
        "warm": {"with": [], "without": []},
    }
    build_project(project, plan=plan, store=root / "warm-up")  # imports, first-use costs
    for i in range(repeats):
        for kind, tests in (("without", ()), ("with", None)):
            build = functools.partial(
                build_project, project, plan=plan, store=root / f"{kind}-{i}", tests=tests
            )
            seconds, run = timed(build)
            times["cold"][kind].append(seconds)
            if tests is None:
                report = run.result.manifest.data_tests
                assert report is not None and report.counts.cached == 0
            times["warm"][kind].append(timed(build)[0])
    return times


def _ratios(times: dict[str, list[float]]) -> dict[str, Any]:
    """Per-pair ratios (with / without, the builds run next to each other) and their median."""
    pairs = [w / o for w, o in zip(times["with"], times["without"], strict=True)]
    return {
        "with": stats(times["with"]),
        "without": stats(times["without"]),
        "ratio_of_medians": statistics.median(times["with"]) / statistics.median(times["without"]),
        "pair_ratios": stats(pairs),
    }


def _compile(project: Project, *, cache: bool) -> float:
    """Median compile time (`cache`: warm compile cache, after one compile filled it)."""
    compile_plan(project, cache=cache)
    return statistics.median(
        _seconds(lambda: compile_plan(project, cache=cache)) for _ in range(REPEATS)
    )


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--views", type=int, default=100)
    parser.add_argument("--tests-per-view", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpg-data-tests-") as tmp:
        root = Path(tmp)
        synthetic = generate_project(root, args.views, tests_per_view=args.tests_per_view)
        project = load_project(synthetic.project_file)
        plan = compile_plan(project)
        load_before = load_1min()
        builds = {k: _ratios(v) for k, v in _builds(project, plan, root, args.repeats).items()}
        build_project(project, plan=plan, tests=())  # the project's own store, for `cpg test`
        first = run_tests(plan)
        tests = first.counts.tests
        first_s = _seconds(lambda: run_tests(plan, use_cache=False))
        cached_s = statistics.median(_seconds(lambda: run_tests(plan)) for _ in range(REPEATS))
        with_compile_s = statistics.median(
            _seconds(lambda: run_tests(compile_plan(project))) for _ in range(REPEATS)
        )
        command_cold_s = _command(root, "--fresh")
        command_cached_s = statistics.median(_command(root) for _ in range(REPEATS))
        startup_s = _imports("import cpg_core.cli, cpg_core.cli_test")
        needed_s = _imports("import cpg_core.cli_test, cpg_core.plan.compiler, cpg_core.checks.run")
        bare = load_project(generate_project(root / "bare", args.views).project_file)
        compiles = {
            "cold_with_tests_s": _compile(project, cache=False),
            "cold_without_tests_s": _compile(bare, cache=False),
            "warm_with_tests_s": _compile(project, cache=True),
            "warm_without_tests_s": _compile(bare, cache=True),
        }
    per_100 = 100 / tests
    report = {
        "views": args.views,
        "tests": tests,
        "failed_or_error": first.counts.failed + first.counts.errors + first.counts.warned,
        "repeats": args.repeats,
        "load_1min": [load_before, load_1min()],
        "build": builds,
        "run_tests_first_s": first_s,
        "run_tests_cached_s": cached_s,
        "compile_and_run_tests_cached_s": with_compile_s,
        "cpg_test_command_cold_s": command_cold_s,
        "cpg_test_command_cached_s": command_cached_s,
        "interpreter_and_imports_s": startup_s,
        "imports_cpg_test_needs_s": needed_s,
        "compile": compiles,
        "per_100_tests": {
            "run_tests_first_s": first_s * per_100,
            "run_tests_cached_s": cached_s * per_100,
            "compile_and_run_tests_cached_s": with_compile_s * per_100,
            "cpg_test_command_cached_s": command_cached_s * per_100,
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    _print(report, per_100)


def _print(report: dict[str, Any], per_100: float) -> None:
    print(
        f"{report['views']} views, {report['tests']} tests ({report['failed_or_error']} not "
        f"passing); load average {report['load_1min'][0]:.1f} -> {report['load_1min'][1]:.1f}"
    )
    for kind, figures in report["build"].items():
        print(f"build, {kind} ({report['repeats']} each, alternating):")
        print(f"  without tests:                   {fmt(figures['without'])}")
        print(f"  with tests:                      {fmt(figures['with'])}")
        ratio = figures["ratio_of_medians"]
        print(
            f"  with / without: {ratio:.3f} (medians), pairs {fmt(figures['pair_ratios'], 'x', 3)}"
            f"  (target <= 1.15)"
        )
    first_s, cached_s = report["run_tests_first_s"], report["run_tests_cached_s"]
    with_compile_s = report["compile_and_run_tests_cached_s"]
    command_cached_s = report["cpg_test_command_cached_s"]
    print(f"run_tests, every test evaluated:   {first_s:7.3f} s  ({first_s * per_100:.3f} s/100)")
    print(f"run_tests, cached (median):        {cached_s:7.3f} s  ({cached_s * per_100:.3f} s/100)")
    print(
        f"compile + run_tests, cached:       {with_compile_s:7.3f} s  "
        f"({with_compile_s * per_100:.3f} s/100; target <= 0.2)"
    )
    print(f"`cpg test --fresh` (new process):  {report['cpg_test_command_cold_s']:7.3f} s")
    print(
        f"`cpg test`, cached (new process):  {command_cached_s:7.3f} s  "
        f"({command_cached_s * per_100:.3f} s/100)"
    )
    print(f"  of which interpreter + imports:  {report['interpreter_and_imports_s']:7.3f} s")
    print(f"imports `cpg test` alone needs:    {report['imports_cpg_test_needs_s']:7.3f} s")
    for name, seconds in report["compile"].items():
        print(f"compile {name.removesuffix('_s'):<26} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
