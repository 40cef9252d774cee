"""Start-up of the `cpg` commands people run often: median of N runs each, and what they import.

Each command runs as a user runs it (the `cpg` console script, a fresh process, a small store on
disk). Baselines in the same command: the bare interpreter (`python -c pass`) and a plain
`import datafusion, deltalake` (what `cpg query` would pay for its engines alone, pandas
included). Target: `cpg --help`, `cpg query` and `cpg status` <= 0.5 s each (median wall time).
The commands run round-robin so a busy machine slows them alike; the CPU time (user + system of
the process) and the load average are printed too, since on a shared machine the wall time
inflates and the CPU time much less. "imports" lists the heavy packages each command loaded
(from `sys.modules` at exit, one extra run) and its three slowest top-level imports.

    .venv/bin/python -m benchmarks.bench_cli_startup [--runs 10] [--json]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa

from benchmarks.harness import Timer, benchmark_parser, load_1min
from cpg_core.store.delta_store import DeltaStore

TARGET_S: Final = 0.5
HEAVY: Final = (
    "hamilton",
    "dagster",
    "dask",
    "pandas",
    "numpy",
    "pyarrow",
    "datafusion",
    "deltalake",
    "sqlglot",
    "rustworkx",
    "rich",
)


# Runs a command in this interpreter and prints, at exit, the top-level packages it loaded.
_LOADED: Final = """
import atexit, runpy, sys
atexit.register(lambda: print("LOADED", *sorted({m.split(".")[0] for m in sys.modules}), file=sys.stderr))
code, sys.argv = sys.argv[1], ["cpg", *sys.argv[2:]]
if code == "cpg":
    runpy.run_module("cpg_core.cli", run_name="__main__")
else:
    exec(code)
"""


def _cpg() -> list[str]:
    """The console script next to this interpreter (what `cpg` runs), else `python -m`."""
    script = Path(sys.executable).parent / "cpg"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cpg_core.cli"]


def commands(store: Path) -> dict[str, tuple[str, list[str]]]:
    """label -> (python code to run, or "cpg" and its arguments)."""
    sql = "select name, count(*) as n from small group by name order by name"
    return {
        "python -c pass": ("pass", []),
        "import datafusion, deltalake": ("import datafusion, deltalake", []),
        "cpg --help": ("cpg", ["--help"]),
        "cpg build --help": ("cpg", ["build", "--help"]),
        "cpg query": ("cpg", ["query", sql, "--store", str(store), "--format", "csv"]),
        "cpg status": ("cpg", ["status", "--store", str(store)]),
    }


def _argv(code: str, args: list[str]) -> list[str]:
    return [*_cpg(), *args] if code == "cpg" else [sys.executable, "-c", code]


def _once(command: Sequence[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process: user + system, its stderr)."""
    with Timer() as timer:
        child = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert child.stderr is not None
        stderr = child.stderr.read()  # to EOF; then reap the child ourselves, for its rusage
        child.stderr.close()
        _, status, usage = os.wait4(child.pid, 0)
    wall = timer.wall
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{command} exited {child.returncode}: {stderr}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


def imports(code: str, args: list[str]) -> tuple[list[str], list[tuple[str, float]]]:
    """(heavy packages loaded, the three slowest top-level imports with seconds).

    `-X importtime` lines are `import time: self | cumulative | name`, the name indented by two
    spaces per nesting level (an unindented one was imported by the program itself); they also
    list imports that failed, so what was loaded comes from `sys.modules` at exit.
    """
    _, _, stderr = _once([sys.executable, "-X", "importtime", "-c", _LOADED, code, *args])
    loaded: set[str] = set()
    top_level: dict[str, float] = {}
    for line in stderr.splitlines():
        if line.startswith("LOADED "):
            loaded = set(line.split()[1:])
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):
            top_level[name.strip()] = int(cumulative) / 1e6
    slowest = sorted(top_level.items(), key=lambda item: -item[1])[:3]
    return sorted(loaded & set(HEAVY)), [(m, round(s, 3)) for m, s in slowest]


@dataclass(frozen=True)
class Startup:
    """One command: seconds of a fresh process (wall clock and CPU), and what it imported."""

    median_s: float
    min_s: float
    median_cpu_s: float
    imports: list[str]
    slowest_imports: list[tuple[str, float]]


def measure(runs: int) -> dict[str, Startup]:
    """Run the commands round-robin (each round runs every command once), so that a busy
    machine slows them all alike, and summarize each one's runs."""
    with tempfile.TemporaryDirectory(prefix="cpg-startup-") as tmp:
        store = DeltaStore(Path(tmp) / "store")
        small = pa.table({"id": [0, 1, 2], "name": ["a", "b", "a"]})
        store.write("small", small, fingerprint="startup", run_id="startup")
        planned = commands(store.root)
        walls: dict[str, list[float]] = {label: [] for label in planned}
        cpus: dict[str, list[float]] = {label: [] for label in planned}
        for round_ in range(runs + 1):  # round 0 warms the file cache
            for label, (code, args) in planned.items():
                wall, cpu, _ = _once(_argv(code, args))
                if round_:
                    walls[label].append(wall)
                    cpus[label].append(cpu)
        results: dict[str, Startup] = {}
        for label, (code, args) in planned.items():
            loaded, slowest = imports(code, args)
            results[label] = Startup(
                median_s=round(statistics.median(walls[label]), 3),
                min_s=round(min(walls[label]), 3),
                median_cpu_s=round(statistics.median(cpus[label]), 3),
                imports=loaded,
                slowest_imports=slowest,
            )
        return results


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    load_before = load_1min()
    results = measure(args.runs)
    load = f"load average {load_before:.1f} before, {load_1min():.1f} after"
    if args.json:
        rows = {label: asdict(row) for label, row in results.items()}
        print(json.dumps({"load": load, "commands": rows}, indent=2))
        return
    bare = results["python -c pass"].median_s
    print(f"median of {args.runs} runs each (target for cpg commands: <= {TARGET_S} s); {load}")
    for label, row in results.items():
        verdict = ""
        if label.startswith("cpg"):
            verdict = "  ok" if row.median_s <= TARGET_S else "  SLOW"
        slowest = ", ".join(f"{m} {s:.2f} s" for m, s in row.slowest_imports)
        print(
            f"{label:<30} {row.median_s:6.3f} s  (min {row.min_s:.3f}, CPU {row.median_cpu_s:.3f}, "
            f"{row.median_s / bare:4.1f}x bare){verdict}\n"
            f"{'':<30} imports: {', '.join(row.imports) or '-'}; slowest: {slowest}"
        )


if __name__ == "__main__":
    main()
