"""The evidence stage of a stdlib build after one edited file: extraction plus the evidence tables
stored, cold vs no change vs one edited file (a measurement for issue 19's phase 2; no target).

A copy of the installed stdlib's Python files; a project of the built-in CPG's evidence and one
tiny user view over `files` (so a build runs no CPG view: what is timed is extraction and the
nine evidence tables written to Delta). Steps through `build_project` in this process, into one
store: cold; no change; a function appended to `json/encoder.py`; then (`--verify`) a cold build
of the edited copy into a fresh store, whose evidence data versions must equal the incremental
ones. Reported per step: the whole build, the extract stage (`StageFinish`), storing the
evidence (from the end of extraction to the last table stored), and how each table was written
(a partition replace, a whole-table write, or nothing).

    .venv/bin/python -m benchmarks.bench_evidence_incremental [--repo DIR] [--workers 2] [--json]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import Timer, add_tree, benchmark_parser, emit, load_1min
from benchmarks.stdlib_copy import EDITED, copy_python_tree, edit_one_file
from cpg_core.extract.schema import TABLE_NAMES
from cpg_core.pipeline import StageFinish, build_project
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import InputStored

VIEW = "select count(*) as n from files\n"


class Clocked:
    """Build events with the wall time (since the build started) they arrived at."""

    def __init__(self, timer: Timer) -> None:
        self.timer, self.events = timer, []

    def __call__(self, event: object) -> None:
        self.events.append((self.timer.elapsed(), event))


def _step(project: Project, store: Path, workers: int) -> dict[str, Any]:
    with Timer() as timer:
        clock = Clocked(timer)
        build_project(
            project,
            store=store,
            select=["evidence_files"],
            store_evidence=TABLE_NAMES,
            extract_workers=workers,
            on_event=clock,
        )
    extract_end = next(
        t for t, e in clock.events if isinstance(e, StageFinish) and e.stage == "extract"
    )
    extract = next(
        e for _, e in clock.events if isinstance(e, StageFinish) and e.stage == "extract"
    )
    stored = [t for t, e in clock.events if isinstance(e, InputStored)]
    return {
        "build_s": timer.wall,
        "extract_s": extract.seconds,
        "extract_detail": extract.detail,
        "store_evidence_s": max(stored, default=extract_end) - extract_end,
        "writes": _writes(store),
    }


def _writes(store: Path) -> dict[str, str]:
    """How each evidence table's last commit was made: its predicate, or a whole-table write."""
    out = {}
    for name in TABLE_NAMES:
        log = sorted((store / "tables" / name / "_delta_log").glob("*.json"))
        info = next(
            json.loads(line)["commitInfo"]
            for line in log[-1].read_text().splitlines()
            if '"commitInfo"' in line
        )
        predicate = info.get("operationParameters", {}).get("predicate")
        out[name] = f"replace {predicate[:40]}" if predicate else f"whole (v{len(log) - 1})"
    return out


def main() -> None:
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--repo")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-verify", dest="verify", action="store_false")
    args = parser.parse_args()
    load = load_1min()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-evidence-") as tmp:
        root = Path(tmp)
        copy_python_tree(args.repo, root / "repo")
        (root / "views").mkdir()
        (root / "views" / "evidence_files.sql").write_text(VIEW, encoding="utf-8")
        project = Project(
            root=root, view_dirs=(root / "views",), include_cpg=True, repo=root / "repo"
        )
        steps = {"cold": _step(project, root / "store", args.workers)}
        steps["no_change"] = _step(project, root / "store", args.workers)
        edit_one_file(root / "repo")
        steps["one_file"] = _step(project, root / "store", args.workers)
        equal = None
        if args.verify:
            _step(project, root / "verify", args.workers)
            mine, theirs = DeltaStore(root / "store"), DeltaStore(root / "verify")
            equal = all(
                (a := mine.info(n)) is not None
                and (b := theirs.info(n)) is not None
                and a.data_version == b.data_version
                for n in TABLE_NAMES
            )
    cold = steps["cold"]
    report = {
        "repo": str(args.repo),
        "edited": EDITED,
        "load_1min_at_start": load,
        "steps": steps,
        "ratios_to_cold": {
            step: {
                key: steps[step][key] / cold[key] if cold[key] else None
                for key in ("build_s", "extract_s", "store_evidence_s")
            }
            for step in ("no_change", "one_file")
        },
        "equals_cold_build": equal,
    }
    emit(report, as_json=args.json, render=render)


def render(report: dict[str, Any]) -> str:
    out = [
        f"repo {report['repo']} (edited {report['edited']}); load {report['load_1min_at_start']:.2f}"
    ]
    for name, step in report["steps"].items():
        ratio = report["ratios_to_cold"].get(name)
        extra = f"  ({ratio['build_s']:.3f}x cold)" if ratio else ""
        out.append(
            f"{name:>9}: build {step['build_s']:7.2f} s{extra}; extract {step['extract_s']:6.2f} s; "
            f"store evidence {step['store_evidence_s']:6.2f} s — {step['extract_detail']}"
        )
    writes = report["steps"]["one_file"]["writes"]
    out.append("one-file writes: " + ", ".join(f"{k}: {v}" for k, v in writes.items()))
    out.append(f"evidence equals a cold build of the edited copy: {report['equals_cold_build']}")
    return "\n".join(out)


if __name__ == "__main__":
    main()
