"""Call graphs of small programs as (caller, callee) pairs of qualified names, and their truths.

A CALLS edge becomes `caller -> callee`: the qualified name of the def that contains the call
site (`main` for module level) and of the target (`main.C.m`, `builtins.len`, `os.path.join`).
Each fixture program in `tests/fixtures/callgraph/<name>/` has an `expected.txt`: the calls the
program really makes, written by hand, one `caller -> callee` per line (`#` comments).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tests.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "callgraph"
PROBES = REPO_ROOT / "tests" / "fixtures" / "callgraph_probe"  # a benchmark, not exact truth


@dataclass(frozen=True)
class Edge:
    """One projected CALLS edge with what the CPG says about it."""

    caller: str
    callee: str
    target_kind: str
    method: str
    confidence: float
    ambiguity: int


def projected_edges(nodes: pa.Table, edges: pa.Table) -> list[Edge]:
    """CALLS edges as (caller, callee) qualified names, sorted."""
    fq = dict(
        zip(nodes.column("node_id").to_pylist(), nodes.column("fqname").to_pylist(), strict=True)
    )
    parent = dict(
        zip(nodes.column("node_id").to_pylist(), nodes.column("parent_id").to_pylist(), strict=True)
    )
    out = []
    for r in edges.to_pylist():
        if r["edge_kind"] != "CALLS":
            continue
        caller = fq.get(parent.get(r["src_id"]) or "")
        out.append(
            Edge(
                caller or "?",
                fq.get(r["dst_id"]) or r["dst_id"],
                r["dst_kind"],
                r["resolution_method"],
                r["confidence"],
                r["ambiguity_count"],
            )
        )
    # every field: two call sites in one caller may reach one callee with different confidence
    return sorted(out, key=lambda e: (e.caller, e.callee, e.method, e.confidence, e.ambiguity))


def call_pairs(edges: list[Edge], *, classes: bool = True) -> set[tuple[str, str]]:
    """(caller, callee) pairs; without `classes`, instantiation edges to a CLASS are left out."""
    return {(e.caller, e.callee) for e in edges if classes or e.target_kind != "CLASS"}


def read_truth(path: Path) -> set[tuple[str, str]]:
    """The `caller -> callee` lines of an expected.txt."""
    pairs = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            caller, _, callee = line.partition("->")
            pairs.add((caller.strip(), callee.strip()))
    return pairs


def fixture_names(root: Path = FIXTURES) -> list[str]:
    """Every program under `root` (a folder with an expected.txt), in name order."""
    return sorted(p.name for p in root.iterdir() if (p / "expected.txt").exists())
