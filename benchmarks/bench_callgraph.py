"""Call-graph precision and recall per feature on the fixture programs, beside PyCG on the same ones.

Each program in tests/fixtures/callgraph/ has its expected calls written by hand (`expected.txt`,
`caller -> callee` qualified names). cpg's CALLS edges are projected to the same pairs. PyCG is not
a dependency: give the interpreter of a separate environment where it is installed, e.g.

    python3 -m venv /tmp/pycg-venv && /tmp/pycg-venv/bin/pip install pycg==0.0.8
    .venv/bin/python -m benchmarks.bench_callgraph [--pycg-python /tmp/pycg-venv/bin/python] [--json]
        [--programs tests/fixtures/callgraph_probe]

`--programs tests/fixtures/callgraph_probe` scores the probe programs instead: 54 programs
written after the analysis by someone who had not written it, to find where it fails (their expected calls were
checked by tracing each program's run); unlike the fixtures, cpg is not required to pass them.

The comparison columns score both tools without edges to classes themselves (PyCG is not consistent
about them) and with nested names spelled PyCG's way (`f.g`, not `f.<locals>.g`); cpg's own
column keeps both. Exit status
0 whatever the numbers: this is a report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import Timer, benchmark_parser, emit
from tests.cpg.build import build_cpg, builtin_plan
from tests.cpg.callgraph import (
    FIXTURES,
    PROBES,
    call_pairs,
    fixture_names,
    projected_edges,
    read_truth,
)

Pairs = set[tuple[str, str]]
# pycg 0.0.8 uses importlib.util without importing it, and its wheel installs the package as
# `PyCG` while its modules import `pycg`
_PYCG = """
import importlib.util, json, sys
try:
    import pycg
except ImportError:
    import PyCG
    sys.modules["pycg"] = PyCG
from pycg.pycg import CallGraphGenerator
from pycg import formats
from pycg.utils.constants import CALL_GRAPH_OP
cg = CallGraphGenerator(sys.argv[2:], sys.argv[1], -1, CALL_GRAPH_OP)
cg.analyze()
print(json.dumps(formats.Simple(cg).generate()))
"""


def score(got: Pairs, truth: Pairs) -> dict[str, Any]:
    """Precision, recall and the pairs behind them."""
    hit = len(got & truth)
    return {
        "precision": hit / len(got) if got else 1.0,
        "recall": hit / len(truth) if truth else 1.0,
        "hits": hit,
        "got": len(got),
        "expected": len(truth),
    }


def pycg_pairs(python: str, program: Path) -> Pairs | None:
    """PyCG's call graph of one program (every .py file an entry point), as qualified pairs;
    None when PyCG fails on it (scored as no edges)."""
    entries = sorted(str(p) for p in program.rglob("*.py"))
    out = subprocess.run(
        [python, "-c", _PYCG, str(program), *entries],
        capture_output=True, text=True, check=False, cwd=program,
    )  # fmt: skip
    if out.returncode != 0:
        return None
    graph: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return {(_builtins(a), _builtins(b)) for a, callees in graph.items() for b in callees}


def _builtins(name: str) -> str:
    return name.replace("<builtin>.", "builtins.")


def comparable(pairs: Pairs, classes: set[str]) -> Pairs:
    """Pairs without edges to classes, nested names without `.<locals>` (PyCG's spelling)."""
    return {(_plain(a), _plain(b)) for a, b in pairs if b not in classes}


def _plain(name: str) -> str:
    return name.replace(".<locals>", "")


def run(pycg_python: str | None, root: Path = FIXTURES) -> dict[str, Any]:
    """Score cpg (and PyCG) on every program under `root`."""
    plan = builtin_plan()
    rows: dict[str, Any] = {}
    root = root.resolve()
    for name in fixture_names(root):
        program = root / name
        truth = read_truth(program / "expected.txt")
        with Timer() as t:
            build = build_cpg(program, plan=plan)
        nodes = build.outputs["cpg_nodes"]
        edges = projected_edges(nodes, build.outputs["cpg_edges"])
        classes = {
            fq for fq, kind in zip(nodes["fqname"].to_pylist(), nodes["node_kind"].to_pylist(), strict=True)
            if kind == "CLASS"
        }  # fmt: skip
        no_cls = comparable(truth, classes)
        row = {"cpg": score(call_pairs(edges), truth), "cpg_s": t.wall}
        row["cpg_no_classes"] = score(comparable(call_pairs(edges), classes), no_cls)
        if pycg_python:
            with Timer() as tp:
                got = pycg_pairs(pycg_python, program)
            row["pycg_no_classes"] = score(comparable(got or set(), classes), no_cls)
            row["pycg_no_classes"]["failed"] = got is None
            row["pycg_s"] = tp.wall
        rows[name] = row
    return {
        "programs": rows,
        "total": {k: _total(rows, k) for k in next(iter(rows.values())) if k[-2:] != "_s"},
    }


def _total(rows: dict[str, Any], key: str) -> dict[str, Any]:
    hits = sum(r[key]["hits"] for r in rows.values())
    got = sum(r[key]["got"] for r in rows.values())
    expected = sum(r[key]["expected"] for r in rows.values())
    return {"precision": hits / got if got else 1.0, "recall": hits / expected, "hits": hits,
            "got": got, "expected": expected}  # fmt: skip


def render(result: dict[str, Any]) -> str:
    cols = list(result["total"])
    head = "program".ljust(26) + "".join(f"{c + ' P/R':>26}" for c in cols)
    lines = [head]
    for name, row in [*result["programs"].items(), ("TOTAL", result["total"])]:
        cells = "".join(f"{row[c]['precision']:>15.3f} /{row[c]['recall']:>6.3f}   " for c in cols)
        failed = " (PyCG failed)" if row.get("pycg_no_classes", {}).get("failed") else ""
        lines.append(name.ljust(26) + cells + failed)
    return "\n".join(lines)


def main() -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--pycg-python", help="interpreter of an environment with pycg installed")
    parser.add_argument(
        "--programs", type=Path, default=FIXTURES,
        help=f"folder of programs, each with an expected.txt (default: {FIXTURES.name}; "
        f"{PROBES.name}: programs written later by someone else)",
    )  # fmt: skip
    args = parser.parse_args()
    emit(run(args.pycg_python, args.programs), as_json=args.json, render=render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
