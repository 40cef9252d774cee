"""The whole installed standard library builds through extraction and every built-in view."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from tests.cpg.build import build_cpg, graph_problems
from tests.cpg.render import EDGE_KINDS, NODE_KINDS

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.mark.slow
def test_stdlib_cpg_has_no_dangling_edges() -> None:
    build = build_cpg(STDLIB, workers=2)
    out = build.outputs
    assert graph_problems(out) == []
    nodes = out["cpg_nodes"].group_by("node_kind").aggregate([("node_id", "count")]).to_pylist()
    edges = out["cpg_edges"].group_by("edge_kind").aggregate([("edge_id", "count")]).to_pylist()
    node_counts = {r["node_kind"]: r["node_id_count"] for r in nodes}
    edge_counts = {r["edge_kind"]: r["edge_id_count"] for r in edges}
    assert set(node_counts) == set(NODE_KINDS)
    assert set(edge_counts) == set(EDGE_KINDS)
    # every file with evidence has its MODULE; failed files only their FILE node
    assert node_counts["FILE"] == out["idx_modules"].num_rows + sum(
        1 for s in build.evidence["files"].column("status").to_pylist() if s == "failed"
    )
    slowest = sorted(build.view_seconds.items(), key=lambda kv: -kv[1])[:5]
    print(
        f"\nstdlib CPG: extraction {build.extract_seconds:.1f}s, views {build.views_seconds:.1f}s"
        f" (slowest {', '.join(f'{n} {s:.1f}s' for n, s in slowest)})"
        f"\nnodes {node_counts}\nedges {edge_counts}"
    )
