"""The whole CPG build of the standard library as `cpg build` runs it, against issue 16's target.

One cold `build_project` with `cpg build`'s defaults (extraction with one worker per core, every
built-in view one at a time, their data tests, the Delta store) into a fresh store, in this
process: wall and CPU time, peak RSS, each view's duration (the build's `TaskFinish` events;
inline views count in their reader's), the share of the value-flow analysis (`flow_*` and the
C3 MRO views `idx_class_*`), and the dangling edges.
Target: <= 60 s cold, <= 4 GiB peak RSS, zero dangling edges.

    .venv/bin/python -m benchmarks.bench_cpg_stdlib [--repo PATH] [--json]

Exit status 0 whatever the numbers: this is a report. One build at a time on a shared machine.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import Timer, add_tree, benchmark_parser, emit, load_1min, peak_rss, verdict
from cpg_core.pipeline import BuildEvent, build_project
from cpg_core.project import load_project
from cpg_core.store.events import DataTestFinish, TaskFinish

TARGET_S = 60.0
TARGET_GIB = 4.0
ANALYSIS_PREFIXES = ("flow_", "idx_class_")


def is_analysis(view: str) -> bool:
    """A view of the value-flow analysis (its rounds and the C3 MRO it looks methods up in)."""
    return view.startswith(ANALYSIS_PREFIXES)


def run(repo: Path) -> dict[str, Any]:
    """One cold build of `repo`'s CPG into a fresh store."""
    finished: dict[str, TaskFinish] = {}
    tested: dict[str, DataTestFinish] = {}

    def on_event(event: BuildEvent) -> None:
        if isinstance(event, TaskFinish):
            finished[event.task] = event
        elif isinstance(event, DataTestFinish):
            tested[event.id] = event

    with tempfile.TemporaryDirectory(prefix="cpg-stdlib-") as tmp:
        toml = Path(tmp) / "cpg.toml"
        toml.write_text(f'store = "store"\nrepo = "{repo.resolve()}"\n', encoding="utf-8")
        with Timer() as wall:
            build = build_project(load_project(toml), on_event=on_event)
    views = {name: event.duration_s for name, event in finished.items()}
    analysis = sum(s for name, s in views.items() if is_analysis(name))
    extract_s = build.extract.seconds if build.extract else 0.0
    peak = peak_rss()
    dangling = tested["cpg_edges.no_dangling_edges"].failing_rows
    return {
        "repo": str(repo),
        "wall_s": wall.wall,
        "cpu_s": wall.cpu,
        "children_cpu_s": wall.children_cpu,
        "extract_s": extract_s,
        "views_s": sum(views.values()),
        "analysis_s": analysis,
        "analysis_share": analysis / wall.wall,
        "slowest": sorted(views.items(), key=lambda kv: -kv[1])[:8],
        "dangling": dangling,
        "peak_gib": peak.own_gib,
        "peak_child_gib": peak.largest_child_gib,
        "load_1min": load_1min(),
    }


def render(result: dict[str, Any]) -> str:
    """The figures, then each target's verdict."""
    slowest = ", ".join(f"{name} {s:.1f}" for name, s in result["slowest"])
    peak = max(result["peak_gib"], result["peak_child_gib"])
    return "\n".join(
        [
            f"cold build of {result['repo']}: wall {result['wall_s']:.1f} s, CPU {result['cpu_s']:.1f} s"
            f" (this process; extraction workers {result['children_cpu_s']:.1f} s), load {result['load_1min']:.2f}",
            f"extraction {result['extract_s']:.1f} s; views {result['views_s']:.1f} s, of which the"
            f" value-flow analysis {result['analysis_s']:.1f} s = {result['analysis_share']:.0%}"
            " of the build",
            f"slowest views (s): {slowest}",
            f"{verdict(result['wall_s'] <= TARGET_S)} wall {result['wall_s']:.1f} s (target <= {TARGET_S:.0f} s)",
            f"{verdict(peak <= TARGET_GIB)} peak RSS {result['peak_gib']:.2f} GiB (largest extraction"
            f" worker {result['peak_child_gib']:.2f} GiB; target <= {TARGET_GIB:.0f} GiB)",
            f"{verdict(result['dangling'] == 0)} dangling edges: {result['dangling']}",
        ]
    )


def main() -> int:
    """CLI: print the figures (or JSON)."""
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--repo")
    args = parser.parse_args()
    emit(run(args.repo), as_json=args.json, render=render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
