"""Incremental rebuilds of the stdlib CPG: no change, and one changed view, vs the cold build.

One project = the built-in CPG views + one user view (`edge_kinds`, over `cpg_edges`). Steps,
all through `build_project` (what `cpg build` runs) into one fresh store, in one process:
cold build; rebuild with nothing changed; rebuild after a semantic edit of `edge_kinds`.
Targets: no-change <= 10% of cold, one changed view <= 25% of cold.

    .venv/bin/python -m benchmarks.bench_rebuild [--repo DIR] [--json]
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import add_tree, benchmark_parser, emit, timed
from cpg_core.pipeline import build_project
from cpg_core.project import load_project

VIEW = "select edge_kind, count(*) as n from cpg_edges group by edge_kind"
CHANGED = "select edge_kind, count(*) as n, count(distinct src_id) as sources from cpg_edges group by edge_kind"


def _build(toml: Path) -> tuple[float, int, int]:
    """One `build_project` of the project: (seconds, views executed, files extracted)."""
    seconds, run = timed(lambda: build_project(load_project(toml)))
    extracted = len(run.extract.extracted) if run.extract is not None else 0
    return seconds, len(run.result.executed), extracted


def main() -> None:
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--repo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpg-rebuild-") as tmp:
        root = Path(tmp)
        (root / "views").mkdir()
        view = root / "views" / "edge_kinds.sql"
        view.write_text(VIEW, encoding="utf-8")
        toml = root / "cpg.toml"
        toml.write_text(
            f'views = ["views"]\nstore = "store"\nrepo = "{args.repo.resolve()}"\n',
            encoding="utf-8",
        )
        cold = _build(toml)
        nochange = _build(toml)
        view.write_text(CHANGED, encoding="utf-8")
        changed = _build(toml)
    report: dict[str, Any] = {
        "repo": str(args.repo),
        "cold_s": cold[0],
        "no_change_s": nochange[0],
        "one_view_s": changed[0],
        "no_change_ratio": nochange[0] / cold[0],
        "one_view_ratio": changed[0] / cold[0],
        "executed": {"cold": cold[1], "no_change": nochange[1], "one_view": changed[1]},
        "files_extracted": {"cold": cold[2], "no_change": nochange[2], "one_view": changed[2]},
    }
    emit(report, as_json=args.json, render=render)


def render(report: dict[str, Any]) -> str:
    """Each step's seconds and its ratio to the cold build, against the targets."""
    out = [f"repo {report['repo']}"]
    for step, key, ratio in (
        ("cold", "cold_s", None),
        ("no change", "no_change_s", "no_change_ratio"),
        ("one changed view", "one_view_s", "one_view_ratio"),
    ):
        extra = f"  {report[ratio]:.3f}x cold" if ratio else ""
        out.append(f"{step:>17}: {report[key]:8.2f} s{extra}")
    out.append(
        f"views executed: {report['executed']}; files extracted: {report['files_extracted']}"
    )
    out.append("targets: no change <= 0.10x, one changed view <= 0.25x")
    return "\n".join(out)


if __name__ == "__main__":
    main()
