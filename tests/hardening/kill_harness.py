"""Crash safety: SIGKILL `cpg build` at many points and prove nothing is lost or trusted wrongly.

For each scenario — a cold build, a rebuild after editing one Python file, a rebuild after
editing one user view, and those two rebuilds with the edit undone after the kill (the recovery
then builds the old inputs over what a killed build of the new ones left) — over
`tests/fixtures/fixture_repo` plus two user views, the harness:

1. builds the final inputs once into a fresh store: the *reference* (data versions of every
   table, the run state, the extraction state, the compiled plan);
2. runs the scenario's build once with counting hooks (*trace*) to learn how often each kill
   target is called, and once plainly to time it (that rebuild must equal the reference too);
3. derives kill points from the counts: (target, k-th call, entry / exit / N ms after entry),
   file-system events inside Delta writes (k-th Parquet upload started / Parquet file complete /
   commit file staged: killed from a watcher process, `_kill_watch`) and purely time-based
   kills, and for each one: prepares the store (for rebuilds: a full
   build of the initial inputs, then the edit), runs `cpg build` in a child process that
   SIGKILLs itself at that point, checks the store (`_kill_checks.inspect_store`: every table
   reads back as its recorded data version, every cache is valid or detected as invalid, no
   lock is held), runs `cpg build` again and checks that it exits 0, leaves every cache valid
   and exactly the reference's data versions, run state and extraction state.

Children run the real CLI (`cpg_core.cli.main`) in processes forked from a `forkserver` that
preloaded the modules (no thread exists there, nothing has run; `--fresh` starts a new
interpreter per build instead, ~6 s slower each). Every path is the same for every build
(`<workdir>/run`), so paths in the data never differ between the reference and a recovery.

    .venv/bin/python -m tests.hardening.kill_harness [--points N] [--json] [--scenario cold ...]

Exit status 0 only when every kill point was reached and survived and the plain rebuilds equal
their references. A time-based kill that comes after the build already finished, or a
file-system kill whose event did not recur as often as traced, is reported as "not reached" and
not counted (build times vary with the machine's load; inotify sees a new directory's first
files only if its watch was added in time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import pyarrow as pa

from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project
from tests.hardening._kill_checks import (
    VALID,
    Inspection,
    Reference,
    compare,
    inspect_store,
    read_extract_tables,
)
from tests.hardening._kill_child import FS_PREFIX, TIME_TARGET, ChildJob, KillSpec, When, run_job
from tests.paths import REPO_ROOT, copy_fixture_repo

CHILD_TIMEOUT_S: Final = 300.0
HUNG: Final = -999

# Two user views on top of the CPG: the second reads the first, so an edit of the first that
# changes its rows re-executes both.
USER_VIEWS: Final = {
    "uv_kinds": "select node_kind, count(*) as n from cpg_nodes group by node_kind\n",
    "uv_big_kinds": "select node_kind, n from uv_kinds where n >= 10\n",
}
EDITED_VIEW: Final = (
    "uv_kinds",
    "select node_kind, count(*) + 1 as n from cpg_nodes group by node_kind\n",
)
PY_EDIT: Final = (
    "app/core.py",
    "\n\ndef kill_harness_added(items):\n    total = len(items)\n    return helper(total)\n",
)


# ----------------------------------------------------------------------------- layout, scenarios


@dataclass(frozen=True)
class Layout:
    """One build directory: the repository copy, the views, the store (its default place)."""

    run: Path

    @property
    def repo(self) -> Path:
        return self.run / "repo"

    @property
    def views(self) -> Path:
        return self.run / "views"

    @property
    def store(self) -> Path:
        return self.run / ".cpg" / "store"

    @property
    def logs(self) -> Path:
        return self.run / "logs"

    def argv(self) -> tuple[str, ...]:
        # --store equal to the project's default, so the compile cache is in this store too
        return ("build", str(self.repo), "--views", str(self.views), "--store", str(self.store))

    def project(self, store: Path | None = None) -> Project:
        """The project `cpg build` resolves from `argv()` (store overridable for checks)."""
        return Project(
            root=self.run,
            view_dirs=(self.views,),
            store=store or self.store,
            include_cpg=True,
            repo=self.repo,
        )

    def reset(self) -> None:
        """An empty store and the initial inputs."""
        shutil.rmtree(self.run, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self.restore_inputs()

    def restore_inputs(self) -> None:
        """The initial repository and views (the store is left alone)."""
        shutil.rmtree(self.repo, ignore_errors=True)
        shutil.rmtree(self.views, ignore_errors=True)
        copy_fixture_repo(self.repo)
        self.views.mkdir(parents=True)
        for name, sql in USER_VIEWS.items():
            (self.views / f"{name}.sql").write_text(sql, encoding="utf-8")


def _edit_py(layout: Layout) -> None:
    path, addition = PY_EDIT
    with (layout.repo / path).open("a", encoding="utf-8") as out:
        out.write(addition)


def _edit_view(layout: Layout) -> None:
    name, sql = EDITED_VIEW
    (layout.views / f"{name}.sql").write_text(sql, encoding="utf-8")


@dataclass(frozen=True)
class Scenario:
    """`prebuild`: a full build of the initial inputs precedes the edit and the killed build.

    `revert`: the edit is undone after the kill, so the recovery builds the *initial* inputs over
    a store that a killed build of the edited ones left behind (half-new tables, caches and
    extraction state of inputs that no longer exist); it must equal a clean build of them.
    """

    name: str
    prebuild: bool
    edit: Callable[[Layout], None] | None = None
    revert: bool = False

    def final_inputs(self, layout: Layout) -> None:
        """The inputs of the recovery build (and of the reference)."""
        layout.reset()
        if self.edit is not None and not self.revert:
            self.edit(layout)


SCENARIOS: Final = {
    s.name: s
    for s in (
        Scenario("cold", prebuild=False),
        Scenario("edit_py", prebuild=True, edit=_edit_py),
        Scenario("edit_view", prebuild=True, edit=_edit_view),
        Scenario("revert_py", prebuild=True, edit=_edit_py, revert=True),
        Scenario("revert_view", prebuild=True, edit=_edit_view, revert=True),
    )
}


# ----------------------------------------------------------------------------- launching children


OnStart = Callable[[int], None]


class Launcher(Protocol):
    def run(self, job: ChildJob, timeout_s: float, on_start: OnStart | None = None) -> int:
        """Run the job in a child process (`on_start` gets its pid); its exit code (negative:
        killed by that signal)."""
        ...


class ForkLauncher:
    """Children forked from a forkserver that preloaded `tests.hardening._kill_child`."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["tests.hardening._kill_child"])

    def run(self, job: ChildJob, timeout_s: float, on_start: OnStart | None = None) -> int:
        process = self.context.Process(target=run_job, args=(job,), name="cpg-build")
        process.start()
        if on_start is not None and process.pid is not None:
            on_start(process.pid)
        process.join(timeout_s)
        if process.is_alive():
            process.kill()
            process.join()
            return HUNG
        assert process.exitcode is not None
        return process.exitcode


class FreshLauncher:
    """A new interpreter per child (`python -m tests.hardening._kill_child JOB`)."""

    def run(self, job: ChildJob, timeout_s: float, on_start: OnStart | None = None) -> int:
        command = [sys.executable, "-m", "tests.hardening._kill_child", job.to_json()]
        with subprocess.Popen(command, cwd=REPO_ROOT) as child:
            if on_start is not None:
                on_start(child.pid)
            try:
                return child.wait(timeout_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                return HUNG


class FsWatch:
    """The `tests.hardening._kill_watch` process of one build: kills at an event, or counts them."""

    def __init__(self, store: Path, kind: str, k: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening._kill_watch", str(store), kind, str(k)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        ready = self.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"the watcher did not start: {ready!r}")

    def target(self, pid: int) -> None:
        self.stdin.write(f"{pid}\n")
        self.stdin.flush()

    def finish(self) -> str:
        """What the watcher did: "killed ...", "not reached", or the counts as JSON."""
        with contextlib.suppress(BrokenPipeError):  # it exits right after a kill
            self.stdin.write("stop\n")
            self.stdin.flush()
        outcome = self.stdout.readline().strip()
        self.process.wait(30)
        return outcome


# ----------------------------------------------------------------------------- kill points


@dataclass(frozen=True)
class Pick:
    """Which calls of a target to kill at: `first`, `mid`, `last`, or `spread:N` (N spread)."""

    when: When
    which: str
    delay_ms: float = 0.0


PLAN: Final[dict[str, tuple[Pick, ...]]] = {
    "compile_cache_save": (Pick("entry", "first"), Pick("exit", "first")),
    "extract_file": (Pick("entry", "first"), Pick("exit", "last")),
    "extract_unit": (Pick("exit", "first"),),
    "extract_combine": (Pick("exit", "first"),),
    "extract_write_table": (Pick("entry", "first"), Pick("exit", "mid"), Pick("delay", "last", 1)),
    "extract_write_manifest": (Pick("entry", "first"), Pick("exit", "first")),
    "extract_cleanup": (Pick("entry", "first"),),
    "codegen_module": (Pick("exit", "first"),),
    "run_view_task": (
        Pick("entry", "first"),
        Pick("entry", "mid"),
        Pick("entry", "last"),
        Pick("exit", "mid"),
    ),
    "hamilton_cache_set": (Pick("exit", "first"), Pick("exit", "last")),
    "view_finished": (Pick("entry", "mid"),),
    "store_write": (Pick("entry", "mid"), Pick("exit", "last")),
    # inside the Rust write and commit (≈ 7 ms for a small table here, ≈ 60 ms for the first
    # write of a process): where each kill lands shows in orphan Parquet files / temp commits
    "delta_rust_write": (
        Pick("entry", "first"),
        Pick("exit", "mid"),
        Pick("delay", "first", 10),
        Pick("delay", "first", 30),
        Pick("delay", "first", 50),
        *(Pick("delay", "mid", ms) for ms in (1, 2, 3, 4, 5, 6)),
        Pick("delay", "last", 2),
        Pick("delay", "last", 5),
    ),
    # the same, from outside the process (`_kill_watch`): a Parquet file half uploaded, a
    # Parquet file complete but not committed, a commit file staged but not in place
    "fs:data_staged": (Pick("entry", "first"), Pick("entry", "mid"), Pick("entry", "last")),
    "fs:data_file": (Pick("entry", "first"), Pick("entry", "mid"), Pick("entry", "last")),
    "fs:commit_staged": (Pick("entry", "first"), Pick("entry", "mid"), Pick("entry", "last")),
    "commit_run": (Pick("entry", "first"),),
    "atomic_write": (Pick("entry", "spread:3"), Pick("exit", "spread:3")),
    "record_durations": (Pick("entry", "first"), Pick("exit", "first")),
    "events_flush": (Pick("entry", "first"), Pick("exit", "first")),
    "os_replace": (Pick("entry", "spread:4"), Pick("exit", "spread:3")),
    "os_fsync": (Pick("entry", "mid"),),
}
TIME_FRACTIONS: Final = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85)


def _calls(which: str, n: int) -> list[int]:
    if which == "first":
        return [1]
    if which == "last":
        return [n]
    if which == "mid":
        return [(n + 1) // 2]
    count = min(int(which.split(":")[1]), n)
    return sorted({1 + round(i * (n - 1) / max(count - 1, 1)) for i in range(count)})


def kill_points(entries: dict[str, int], seconds: float) -> list[KillSpec]:
    """The kill points of one scenario, from its traced call counts and its plain duration."""
    points: list[KillSpec] = []
    for target, picks in PLAN.items():
        n = entries.get(target, 0)
        if n == 0:
            continue
        for pick in picks:
            for k in _calls(pick.which, n):
                spec = KillSpec(target, k, pick.when, pick.delay_ms)
                if spec not in points:
                    points.append(spec)
    points.extend(
        KillSpec(TIME_TARGET, 1, "delay", round(seconds * f * 1000)) for f in TIME_FRACTIONS
    )
    return points


def spread(items: Sequence[Any], n: int | None) -> list[Any]:
    """At most `n` of `items`, evenly spread (all of them when n is None or large enough)."""
    if n is None or n >= len(items):
        return list(items)
    return [items[round(i * (len(items) - 1) / max(n - 1, 1))] for i in range(n)]


# ----------------------------------------------------------------------------- results


@dataclass
class PointResult:
    scenario: str
    point: str
    spec: dict[str, Any]
    exit_code: int
    killed: bool
    after_kill: dict[str, Any]
    recovery_exit_code: int | None = None
    problems: list[str] = field(default_factory=list)
    temp_files_after_recovery: list[str] = field(default_factory=list)
    second_kill: str | None = None
    second_killed: bool = False
    seconds: float = 0.0

    @property
    def survived(self) -> bool:
        return self.killed and not self.problems

    @property
    def not_reached(self) -> bool:
        """A time-based kill that came after the build had finished, or a file-system event
        that did not happen as often as in the traced build (events in directories created
        during the build can come before their watch): not a kill point."""
        return not self.killed and not self.problems


@dataclass
class ScenarioBase:
    """Per scenario: the reference, the traced counts, the plain duration, the kill points."""

    scenario: Scenario
    reference: Reference
    reference_extract: dict[str, pa.Table]
    reference_plan: ExecutionPlan
    entries: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


class Harness:
    """Runs builds and kill points in `workdir/run` (one path for every build)."""

    def __init__(
        self, workdir: Path, launcher: Launcher, *, timeout_s: float = CHILD_TIMEOUT_S
    ) -> None:
        self.workdir = workdir
        self.layout = Layout(workdir / "run")
        self.launcher = launcher
        self.timeout_s = timeout_s
        self._bases: dict[str, ScenarioBase] = {}

    # -------------------------------------------------------------- building blocks

    def build(
        self,
        name: str,
        *,
        kill: KillSpec | None = None,
        report: Path | None = None,
        count: bool = False,
    ) -> tuple[int, float]:
        """Run `cpg build` in a child; (exit code, seconds)."""
        job = ChildJob(
            argv=self.layout.argv(),
            cwd=str(self.layout.run),
            log=str(self.layout.logs / f"{name}.log"),
            kill=kill,
            report_out=str(report) if report is not None else None,
            count=count,
        )
        watch: FsWatch | None = None
        if kill is not None and kill.target.startswith(FS_PREFIX):
            watch = FsWatch(self.layout.store, kill.target.removeprefix(FS_PREFIX), kill.k)
        elif count:
            watch = FsWatch(self.layout.store, "count", 0)
        started = time.perf_counter()
        try:
            code = self.launcher.run(job, self.timeout_s, watch.target if watch else None)
        finally:
            outcome = watch.finish() if watch is not None else ""
        if count and report is not None:
            counted = json.loads(report.read_text())
            counted["entries"].update(
                {FS_PREFIX + k: n for k, n in json.loads(outcome or "{}").items()}
            )
            report.write_text(json.dumps(counted))
        return code, time.perf_counter() - started

    def _checked_build(self, name: str, **kwargs: Any) -> float:
        code, seconds = self.build(name, **kwargs)
        if code != 0:
            raise RuntimeError(f"{name} build exited {code}: {self._log_tail(name)}")
        return seconds

    def _log_tail(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.layout.logs / f"{name}.log").read_text(errors="replace")[-2000:]
        return "(no log)"

    def inspect(self, base: ScenarioBase) -> Inspection:
        return inspect_store(
            self.layout.store,
            repo=self.layout.repo,
            reference_extract=base.reference_extract,
            compile_with=self._compile_with,
            reference_plan=base.reference_plan,
        )

    def _compile_with(self, store: Path) -> ExecutionPlan:
        return compile_plan(self.layout.project(store), cache=True, history={})

    def prepare(self, scenario: Scenario) -> None:
        """The store and inputs right before the scenario's (killed) build."""
        self.layout.reset()
        if scenario.prebuild:
            self._checked_build("base")
        if scenario.edit is not None:
            scenario.edit(self.layout)

    # -------------------------------------------------------------- per scenario

    def base(self, name: str, *, trace: bool = True) -> ScenarioBase:
        """Reference, trace and timing of a scenario (computed once)."""
        known = self._bases.get(name)
        if known is not None and (known.entries or not trace):
            return known
        scenario = SCENARIOS[name]
        if known is None:
            scenario.final_inputs(self.layout)
            self._checked_build("reference")
            clean = inspect_store(
                self.layout.store,
                repo=self.layout.repo,
                reference_extract=None,
                compile_with=None,
                reference_plan=None,
            )
            plan = compile_plan(self.layout.project(self.workdir / "no-store"), cache=False)
            known = ScenarioBase(
                scenario=scenario,
                reference=Reference.of(clean),
                reference_extract=read_extract_tables(self.layout.store),
                reference_plan=plan,
                problems=[f"clean build: {p}" for p in clean.problems],
            )
            self._bases[name] = known
        if trace:
            report = self.workdir / f"{name}-report.json"
            self.prepare(scenario)
            self._checked_build("trace", report=report, count=True)
            known.entries = json.loads(report.read_text())["entries"]
            self.prepare(scenario)
            self._checked_build("plain", report=report)
            known.seconds = json.loads(report.read_text())["seconds"]  # the CLI's own time
            if scenario.revert:
                self.layout.restore_inputs()
                self._checked_build("plain-reverted")
            plain = self.inspect(known)
            known.problems += [f"rebuild without a kill: {p}" for p in plain.problems]
            known.problems += [
                f"rebuild without a kill: {d}" for d in compare(plain, known.reference)
            ]
        return known

    def run_point(self, name: str, spec: KillSpec, *, then: KillSpec | None = None) -> PointResult:
        """Kill the scenario's build at `spec`, check the store, recover, compare.

        `then` kills the first recovery build too (at that point), and checks again, before the
        recovery that must complete: a store left by a killed *recovery* must recover as well.
        """
        started = time.perf_counter()
        base = self.base(name, trace=False)
        self.prepare(base.scenario)
        code, _ = self.build("killed", kill=spec)
        killed = code == -signal.SIGKILL
        if base.scenario.revert:
            self.layout.restore_inputs()
        after = self.inspect(base)
        result = PointResult(
            scenario=name,
            point=spec.label,
            spec=asdict(spec),
            exit_code=code,
            killed=killed,
            after_kill={
                **after.statuses(),
                "orphan_files": after.orphan_files,
                "staged_commits": after.staged_commits,
                "partial_tables": after.partial_tables,
                "temp_files": after.temp_files,
                "tables": len(after.tables),
            },
        )
        result.problems += [f"after the kill: {p}" for p in after.problems]
        racy = spec.target == TIME_TARGET or spec.target.startswith(FS_PREFIX)
        if not killed and not (racy and code == 0):
            result.problems.append(f"not killed: the build exited {code} first")
        if then is not None:
            second, _ = self.build("killed-again", kill=then)
            result.second_kill = then.label
            result.second_killed = second == -signal.SIGKILL
            again = self.inspect(base)
            result.problems += [f"after the second kill: {p}" for p in again.problems]
            if second not in (0, -signal.SIGKILL):
                result.problems.append(f"the second build exited {second}")
        recovery, _ = self.build("recovery")
        result.recovery_exit_code = recovery
        if recovery != 0:
            result.problems.append(
                f"recovery build exited {recovery}: {self._log_tail('recovery')}"
            )
        else:
            final = self.inspect(base)
            result.temp_files_after_recovery = final.temp_files
            result.problems += [f"after recovery: {p}" for p in final.problems]
            result.problems += [f"after recovery: {d}" for d in compare(final, base.reference)]
            for cache, status in final.statuses().items():
                if status != VALID and not (cache == "durations" and status == "absent"):
                    result.problems.append(f"after recovery: {cache} is {status}")
        result.seconds = time.perf_counter() - started
        if result.problems:
            self._keep_failure(result)
        return result

    def _keep_failure(self, result: PointResult) -> None:
        target = self.workdir / "failed" / f"{result.scenario}-{result.point}".replace("/", "_")
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.layout.run, target, symlinks=True)


# ----------------------------------------------------------------------------- reporting


def format_result(index: int, total: int, result: PointResult) -> str:
    after = result.after_kill
    states = " ".join(
        f"{key.split('_')[0]}={_status(after[key])}"
        for key in ("run_state", "extract_state", "compile_cache", "hamilton_cache")
    )
    verdict = "SURVIVED" if result.survived else "not reached" if result.not_reached else "FAILED"
    how = "killed" if result.killed else f"exit {result.exit_code}"
    if result.second_kill is not None:
        verdict += f", then {result.second_kill}: {'killed' if result.second_killed else 'done'}"
    line = (
        f"[{index:>3}/{total}] {result.scenario:<9} {result.point:<32} {how:<7} {states} "
        f"orphans={after['orphan_files']} staged={len(after['staged_commits'])} {verdict} "
        f"({result.seconds:.1f} s)"
    )
    for problem in result.problems:
        line += f"\n          ! {problem}"
    return line


def _status(status: str) -> str:
    return "invalid" if status.startswith("invalid") else status


def summary(results: Sequence[PointResult]) -> dict[str, Any]:
    killed = [r for r in results if r.killed]
    by_scenario: dict[str, list[int]] = {}
    for r in results:
        if r.not_reached:
            continue
        counts = by_scenario.setdefault(r.scenario, [0, 0])
        counts[0] += r.survived
        counts[1] += 1
    states: dict[str, dict[str, int]] = {}
    for key in ("run_state", "extract_state", "compile_cache", "hamilton_cache", "durations"):
        states[key] = dict(Counter(_status(r.after_kill[key]) for r in killed))
    return {
        "points": sum(not r.not_reached for r in results),
        "killed": len(killed),
        "survived": sum(r.survived for r in results),
        "not_reached": [f"{r.scenario}:{r.point}" for r in results if r.not_reached],
        "failed": [
            f"{r.scenario}:{r.point}" for r in results if not r.survived and not r.not_reached
        ],
        "by_scenario": {k: f"{v[0]}/{v[1]}" for k, v in by_scenario.items()},
        "after_kill_states": states,
        "kills_leaving_orphan_data_files": sum(1 for r in killed if r.after_kill["orphan_files"]),
        "kills_leaving_staged_commits": sum(1 for r in killed if r.after_kill["staged_commits"]),
        "kills_leaving_partial_tables": sum(1 for r in killed if r.after_kill["partial_tables"]),
        "kills_leaving_temp_files": sum(1 for r in killed if r.after_kill["temp_files"]),
        "temp_files_after_recovery": sorted(
            {f for r in results for f in r.temp_files_after_recovery}
        ),
        "second_kills": sum(r.second_killed for r in results),
        "seconds": round(sum(r.seconds for r in results), 1),
    }


@contextlib.contextmanager
def workdir(path: Path | None, keep: bool) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    made = Path(tempfile.mkdtemp(prefix="cpg-kill-"))
    try:
        yield made
    finally:
        if not keep and not (made / "failed").exists():
            shutil.rmtree(made, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--points", type=int, help="at most N kill points, evenly spread")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--target", action="append", help="only kill points of these targets")
    parser.add_argument("--json", action="store_true", help="print results and summary as JSON")
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--fresh", action="store_true", help="a new interpreter per build")
    parser.add_argument(
        "--double",
        action="store_true",
        help="also kill each first recovery (time-based, 10-85%% of a plain build) before the last",
    )
    args = parser.parse_args(argv)
    names = args.scenario or list(SCENARIOS)
    log = sys.stderr if args.json else sys.stdout
    launcher: Launcher = FreshLauncher() if args.fresh else ForkLauncher()
    started = time.perf_counter()
    with workdir(args.workdir, args.keep) as where:
        harness = Harness(where, launcher)
        plan: list[tuple[str, KillSpec]] = []
        base_problems: list[str] = []
        for name in names:
            base = harness.base(name)
            points = [
                p
                for p in kill_points(base.entries, base.seconds)
                if not args.target or p.target in args.target
            ]
            base_problems += [f"{name}: {p}" for p in base.problems]
            calls = ", ".join(f"{t} {n}" for t, n in base.entries.items() if n)
            print(
                f"{name}: plain build {base.seconds:.1f} s, {len(points)} kill points; "
                f"calls per target: {calls}",
                file=log,
                flush=True,
            )
            plan += [(name, p) for p in points]
        chosen = spread(plan, args.points)
        results: list[PointResult] = []
        for index, (name, spec) in enumerate(chosen, 1):
            then = None
            if args.double:
                fraction = TIME_FRACTIONS[index % len(TIME_FRACTIONS)]
                delay = round(harness.base(name).seconds * fraction * 1000)
                then = KillSpec(TIME_TARGET, 1, "delay", delay)
            result = harness.run_point(name, spec, then=then)
            results.append(result)
            print(format_result(index, len(chosen), result), file=log, flush=True)
        report = summary(results)
        report["wall_seconds"] = round(time.perf_counter() - started, 1)
        report["workdir"] = str(where)
        report["baseline_problems"] = base_problems
        report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        payload = {"summary": report, "results": [asdict(r) for r in results]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    print(
        f"kill points survived: {report['survived']}/{report['points']} "
        f"({report['killed']} killed; not reached: {len(report['not_reached'])}); "
        f"baseline problems: {len(base_problems)}; {report['wall_seconds']} s",
        file=log,
    )
    for problem in base_problems:
        print(f"  ! {problem}", file=log)
    ok = not base_problems and report["survived"] == report["points"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
