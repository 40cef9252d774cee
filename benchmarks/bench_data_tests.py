"""`cpg test` on an unchanged store: the synthetic 100-view project with 3 declared tests per
view (plus the `keys_unique` each `@keys: row_id` implies: 400 tests), built once.

Measured, in one process after one build: the tests' first run (every test evaluated), then
cached runs (nothing changed: every result from the cache), each as `run_tests` alone and as
compile + `run_tests`; then the `cpg test` command itself in a fresh process (interpreter
start-up and imports included), cold and cached, and the imports `cpg test` needs alone. Also
the compile's cost of checking the tests: the same project with and without its `@test` lines,
compiled cold (no compile cache) and warm. And what a build will add (phase B): a
`DataTestSession` fed the build's in-memory tables. Targets: `cpg test` on an unchanged store
<= 0.2 s per 100 tests once cached; a build with tests <= 1.15x one without.

    .venv/bin/python -m benchmarks.bench_data_tests [--views 100] [--tests-per-view 3] [--json]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import benchmark_parser, timed
from cpg_core.checks.run import run_tests
from cpg_core.checks.session import DataTestSession
from cpg_core.pipeline import ProjectRun, build_project
from cpg_core.plan import compile_plan
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


def _session(run: ProjectRun) -> float:
    """Seconds a build's `DataTestSession` adds: every test evaluated (no cache) over the tables
    the build has in memory, fed as they would be, view by view in schedule order."""
    plan = run.plan
    built = [n for n in plan.schedule.order if plan.tasks[n].view.persisted]
    versions = {o.name: o.data_version for o in run.result.manifest.outputs}

    def evaluate() -> None:
        session = DataTestSession(plan, built, use_cache=False)
        for name in built:
            session.stored(name, run.result.tables[name], versions[name])
        session.finish()

    return _seconds(evaluate)


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpg-data-tests-") as tmp:
        root = Path(tmp)
        synthetic = generate_project(root, args.views, tests_per_view=args.tests_per_view)
        project = load_project(synthetic.project_file)
        build_seconds, run = timed(lambda: build_project(project))
        plan = compile_plan(project)
        session_s = statistics.median(_session(run) for _ in range(REPEATS))
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
        "build_s": build_seconds,
        "session_over_build_tables_s": session_s,
        "estimated_build_ratio_with_tests": (build_seconds + session_s) / build_seconds,
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
    print(f"{args.views} views, {tests} tests ({report['failed_or_error']} not passing)")
    print(f"build (once):                      {build_seconds:7.2f} s")
    print(
        f"session over the build's tables:   {session_s:7.3f} s  "
        f"(build + tests / build = {report['estimated_build_ratio_with_tests']:.2f}, estimated)"
    )
    print(f"run_tests, every test evaluated:   {first_s:7.3f} s  ({first_s * per_100:.3f} s/100)")
    print(f"run_tests, cached (median):        {cached_s:7.3f} s  ({cached_s * per_100:.3f} s/100)")
    print(
        f"compile + run_tests, cached:       {with_compile_s:7.3f} s  "
        f"({with_compile_s * per_100:.3f} s/100)"
    )
    print(f"`cpg test --fresh` (new process):  {command_cold_s:7.3f} s")
    print(
        f"`cpg test`, cached (new process):  {command_cached_s:7.3f} s  "
        f"({command_cached_s * per_100:.3f} s/100; target <= 0.2)"
    )
    print(f"  of which interpreter + imports:  {startup_s:7.3f} s (cpg_core.cli imports eagerly)")
    print(f"imports `cpg test` alone needs:    {needed_s:7.3f} s")
    for name, seconds in compiles.items():
        print(f"compile {name.removesuffix('_s'):<26} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
