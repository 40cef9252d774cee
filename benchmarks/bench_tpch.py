"""TPC-H through `cpg build` vs the same 22 queries run directly in one DataFusion session.

The data comes from `tpchgen-cli` (PyPI; a benchmark-only tool, not a cpg dependency: this
script installs it into the running interpreter's environment when it is missing) as Parquet,
cached under `--data` (default `/tmp/cpg-tpch/sf<N>`). In one command:

1. direct: one `SessionContext`, the eight tables registered as Parquet, the 22 queries
   collected one after the other (the baseline);
2. cold `cpg build` of a project whose sources are the eight files and whose views are the 22
   queries, in a fresh store — a real `cpg` process, start-up included;
3. a no-change `cpg build` (the same command again), start-up included;
4. a no-change build in this process, cpg already imported (`build_project`, as a long-lived
   process such as Dagster's runs it): the rebuild without the interpreter's start-up.

Targets (issue 17): cold / direct <= 1.5, no-change / cold <= 0.05. Each is checked on wall
time and on CPU time (every thread; for `cpg build`, the child process's): on a machine shared
with other work, CPU time is what the load does not inflate.

    .venv/bin/python -m benchmarks.bench_tpch [--sf 1] [--data DIR] [--json]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import Timer, benchmark_parser, emit, load_1min, verdict
from benchmarks.tpch_queries import QUERIES, TABLES


def _tpchgen() -> str:
    """The `tpchgen-cli` executable, installed with pip into this environment if missing."""
    local = Path(sys.executable).parent / "tpchgen-cli"
    found = shutil.which("tpchgen-cli") or (str(local) if local.exists() else None)
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "tpchgen-cli"], check=True)
        found = str(local)
    return found


def generate(sf: float, data: Path) -> None:
    if all((data / f"{t}.parquet").exists() for t in TABLES):
        return
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run([_tpchgen(), "parquet", "-s", str(sf), f"--output-dir={data}"], check=True)


def direct(data: Path) -> None:
    """The baseline: the 22 queries in one DataFusion session over the Parquet files."""
    from datafusion import SessionContext

    ctx = SessionContext()
    for table in TABLES:
        ctx.register_parquet(table, str(data / f"{table}.parquet"))
    for sql in QUERIES.values():
        ctx.sql(sql).to_arrow_table()


def project(root: Path, data: Path) -> Path:
    (root / "views").mkdir(parents=True)
    for name, sql in QUERIES.items():
        (root / "views" / f"{name}.sql").write_text(sql.strip() + "\n", encoding="utf-8")
    sources = "".join(f'[sources.{t}]\npath = "{data / f"{t}.parquet"}"\n' for t in TABLES)
    toml = root / "cpg.toml"
    toml.write_text(
        f'views = ["views"]\nstore = "store"\ninclude_cpg = false\n{sources}', encoding="utf-8"
    )
    return toml


def cpg_build(toml: Path) -> tuple[Timer, dict[str, Any]]:
    """Wall and CPU time of a real `cpg build` process (start-up included), and its manifest."""
    with Timer() as timer:
        result = subprocess.run(
            [sys.executable, "-m", "cpg_core.cli", "build", "--project", str(toml), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise SystemExit(
            f"cpg build failed ({result.returncode}):\n{result.stderr}\n{result.stdout}"
        )
    return timer, json.loads(result.stdout)


def in_process_rebuild(toml: Path) -> tuple[Timer, int]:
    """Wall and CPU time of a no-change `build_project` in this process, and how many views ran."""
    from cpg_core.pipeline import build_project
    from cpg_core.project import load_project

    project = load_project(toml)
    with Timer() as timer:
        run = build_project(project)
    return timer, len(run.result.executed)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    data = (args.data or Path(tempfile.gettempdir()) / "cpg-tpch" / f"sf{args.sf:g}").resolve()
    generate(args.sf, data)
    load_before = load_1min()
    with Timer() as direct_t:
        direct(data)
    with tempfile.TemporaryDirectory(prefix="cpg-tpch-") as tmp:
        toml = project(Path(tmp), data)
        cold_t, cold = cpg_build(toml)
        warm_t, warm = cpg_build(toml)
        in_process_t, in_process_executed = in_process_rebuild(toml)
    cold_cpu = cold_t.children_cpu
    report = {
        "sf": args.sf,
        "direct_s": round(direct_t.wall, 3),
        "cold_build_s": round(cold_t.wall, 3),
        "no_change_build_s": round(warm_t.wall, 3),
        "in_process_no_change_s": round(in_process_t.wall, 3),
        "cold_over_direct": round(cold_t.wall / direct_t.wall, 3),
        "no_change_over_cold": round(warm_t.wall / cold_t.wall, 3),
        "in_process_over_cold": round(in_process_t.wall / cold_t.wall, 3),
        # CPU seconds (every thread; the cpg processes' own): what load on a shared machine
        # does not inflate
        "direct_cpu_s": round(direct_t.cpu, 3),
        "cold_build_cpu_s": round(cold_cpu, 3),
        "no_change_build_cpu_s": round(warm_t.children_cpu, 3),
        "in_process_no_change_cpu_s": round(in_process_t.cpu, 3),
        "cpu_cold_over_direct": round(cold_cpu / direct_t.cpu, 3),
        "cpu_no_change_over_cold": round(warm_t.children_cpu / cold_cpu, 3),
        "cpu_in_process_over_cold": round(in_process_t.cpu / cold_cpu, 3),
        "cold_executed": len(cold["executed"]),
        "no_change_executed": len(warm["executed"]) + in_process_executed,
        "load_1min": [round(load_before, 2), round(load_1min(), 2)],
    }
    emit(report, as_json=args.json, render=_render)


def _render(report: dict[str, Any]) -> str:
    width = max(map(len, report))
    lines = [f"{key:>{width}}: {value}" for key, value in report.items()]
    for measure, prefix in (("wall", ""), ("CPU", "cpu_")):
        lines += [
            f"{verdict(report[prefix + 'cold_over_direct'] <= 1.5)}  "
            f"cold build <= 1.5x direct ({measure})",
            f"{verdict(report[prefix + 'no_change_over_cold'] <= 0.05)}  "
            f"no-change build <= 0.05x cold ({measure})",
            f"{verdict(report[prefix + 'in_process_over_cold'] <= 0.05)}  "
            f"no-change build in process <= 0.05x cold ({measure})",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
