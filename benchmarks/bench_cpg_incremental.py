"""The whole stdlib CPG rebuilt after edited files vs its cold build (issue 19's benchmark).

A copy of the installed stdlib's Python files; every step is one `cpg build`-equivalent process
(`build_project` of the built-in CPG, parallel mode, in a child process timed from the parent:
interpreter start, compile, extraction, views, tests, commit). Steps, cumulative on one copy
and one store: cold; the same tree again (nothing changed); a comment line inserted at the top
of `json/decoder.py`; a function appended to `json/encoder.py`; a function appended to ten
files across packages; a function appended to `os.py` (imported by much of the stdlib). After each
edit step (`--verify each`, or only the last with `--verify last`) a cold build of the edited
copy into a fresh store must give every stored table the same data version (content hash).

`--views all` builds every built-in view (the value-flow views included, which rebuild whole);
`--views no-flow` selects the views that do not read a `flow_*` view (transitively), so the
ratio of the rest is visible; `--views both` runs one after the other (each on a fresh copy).
Per step: wall time, ratio to that scope's cold build, the seconds spent in `flow_*` views,
and the partitions each partition-incremental view recomputed.

    .venv/bin/python -m benchmarks.bench_cpg_incremental [--views both] [--verify each] [--json]

Targets: one edited file <= 0.05x cold, ten files <= 0.15x (reported for both scopes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Timer,
    add_tree,
    benchmark_parser,
    child_result,
    emit,
    load_1min,
    print_child_result,
    verdict,
)
from benchmarks.stdlib_copy import (
    EDIT,
    EDITED,
    TEN_FILES,
    WIDELY_IMPORTED,
    copy_python_tree,
    edit_one_file,
)

TARGETS = {"one_file": 0.05, "ten_files": 0.15}


def _append(root: Path, names: Sequence[str]) -> None:
    for name in names:
        path = root / name
        path.write_text(path.read_text(encoding="utf-8") + EDIT, encoding="utf-8")


COMMENTED = "json/decoder.py"


def _comment(root: Path) -> None:
    """A comment line inserted at the top of `COMMENTED`: no code changed, but every node id
    of the file (its byte offsets) moved."""
    path = root / COMMENTED
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


EDITS = {
    "no_change": lambda root: None,
    "comment": _comment,
    "one_file": edit_one_file,
    "ten_files": lambda root: _append(root, TEN_FILES),
    "os_py": lambda root: _append(root, (WIDELY_IMPORTED,)),
}


def no_flow_views() -> list[str]:
    """The stored built-in views that read no `flow_*` view, directly or further upstream."""
    from tests.cpg.build import builtin_plan

    tasks = builtin_plan().tasks
    tainted: dict[str, bool] = {}

    def reads_flow(name: str) -> bool:
        if name not in tainted:
            task = tasks.get(name)
            tainted[name] = name.startswith("flow_") or (
                task is not None and any(reads_flow(t) for t in task.inputs)
            )
        return tainted[name]

    return sorted(n for n, t in tasks.items() if t.view.persisted and not reads_flow(n))


# -- the measured child process ------------------------------------------------------------


def child(repo: Path, store: Path, select: Sequence[str]) -> None:
    """One build, as `cpg build <repo> --store <store> --mode parallel [--select ...]` runs it;
    prints per-view seconds and partitions recomputed."""
    from cpg_core.cli import HAMILTON_AUTOLOAD_ENV

    os.environ.setdefault(HAMILTON_AUTOLOAD_ENV, "0")  # as the `cpg` command sets it
    from cpg_core.pipeline import build_project
    from cpg_core.project import Project
    from cpg_core.settings import ExecutionMode, ExecutorConfig
    from cpg_core.store.delta_store import DeltaStore
    from cpg_core.store.events import TaskFinish

    finished: list[TaskFinish] = []

    def on_event(event: object) -> None:
        if isinstance(event, TaskFinish):
            finished.append(event)

    project = Project(root=repo, view_dirs=(), include_cpg=True, repo=repo)
    run = build_project(
        project,
        store=store,
        config=ExecutorConfig(mode=ExecutionMode.PARALLEL),
        select=list(select) or None,
        on_event=on_event,
    )
    print_child_result(
        {
            "seconds": {e.task: e.duration_s for e in finished if not e.cache_hit},
            "partitions": {
                e.task: e.partitions_recomputed
                for e in finished
                if e.partitions_recomputed is not None
            },
            "extracted": len(run.extract.extracted) if run.extract is not None else 0,
            "versions": {n: DeltaStore(store).data_version(n) for n in DeltaStore(store).names()},
        }
    )


def _build(repo: Path, store: Path, select: Sequence[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_cpg_incremental", "--child"]
    command += [str(repo), str(store), *select]
    with Timer() as timer:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    result = child_result(done.stdout)
    if done.returncode != 0 or result is None:
        raise SystemExit(f"build failed ({done.returncode}):\n{done.stderr[-4000:]}")
    seconds = result.pop("seconds")
    return {
        **result,
        "wall_s": timer.wall,
        "views_s": sum(seconds.values()),
        "flow_s": sum(s for v, s in seconds.items() if v.startswith("flow_")),
        "executed": len(seconds),
        "slowest": sorted(seconds.items(), key=lambda kv: -kv[1])[:5],
    }


def run_scope(source: Path, tmp: Path, scope: str, verify: str) -> dict[str, Any]:
    """Cold, then each edit, on a fresh copy; verified against cold builds of the edited copy."""
    repo, store = tmp / scope / "repo", tmp / scope / "store"
    copy_python_tree(source, repo)
    select = no_flow_views() if scope == "no-flow" else []
    steps: dict[str, Any] = {"cold": _build(repo, store, select)}
    for i, (name, edit) in enumerate(EDITS.items()):
        edit(repo)
        step = _build(repo, store, select)
        step["load_1min"] = load_1min()
        if verify == "each" or i == len(EDITS) - 1:
            fresh = _build(repo, tmp / scope / f"verify_{name}", select)
            step["equals_cold"] = fresh["versions"] == step["versions"]
            step["cold_of_edited_s"] = fresh["wall_s"]
        steps[name] = step
    for step in steps.values():
        step.pop("versions")
    cold = steps["cold"]["wall_s"]
    return {
        "selected": len(select) or "all",
        "steps": steps,
        "ratios": {n: s["wall_s"] / cold for n, s in steps.items() if n != "cold"},
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
        return
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--repo")
    parser.add_argument("--views", choices=("all", "no-flow", "both"), default="both")
    parser.add_argument("--verify", choices=("each", "last"), default="each")
    args = parser.parse_args()
    scopes = ("all", "no-flow") if args.views == "both" else (args.views,)
    report: dict[str, Any] = {"repo": str(args.repo), "load_1min_at_start": load_1min()}
    with tempfile.TemporaryDirectory(prefix="cpg-bench-cpg-incremental-") as tmp:
        report["scopes"] = {s: run_scope(args.repo, Path(tmp), s, args.verify) for s in scopes}
    emit(report, as_json=args.json, render=render)


def render(report: dict[str, Any]) -> str:
    out = [f"repo {report['repo']}; edited {EDITED}; load {report['load_1min_at_start']:.2f}"]
    for scope, result in report["scopes"].items():
        out.append(f"--- views: {scope} ({result['selected']} selected)")
        for name, step in result["steps"].items():
            ratio = result["ratios"].get(name)
            line = f"{name:>9}: {step['wall_s']:7.2f} s"
            if ratio is not None:
                target = TARGETS.get(name)
                mark = f" {verdict(ratio <= target)} <= {target}x" if target else ""
                line += f"  {ratio:.3f}x cold{mark}; load {step['load_1min']:.1f}"
            line += (
                f"; views {step['views_s']:.1f} s ({step['executed']} run, flow_* "
                f"{step['flow_s']:.1f} s); {step['extracted']} files extracted"
            )
            if "equals_cold" in step:
                line += f"; equals a cold build: {step['equals_cold']}"
            out.append(line)
            if step["partitions"] and name != "cold":
                parts = ", ".join(f"{v} {n}" for v, n in sorted(step["partitions"].items()))
                out.append(f"           partitions recomputed: {parts}")
            out.append(
                "           slowest: " + ", ".join(f"{v} {s:.1f}" for v, s in step["slowest"])
            )
    return "\n".join(out)


if __name__ == "__main__":
    main()
