"""The CPG of the fixture repository: exact rows per node/edge kind, checks, determinism."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cpg_core.checks.dangling import dangling_edges
from tests.cpg.build import CpgBuild, build_cpg, graph_problems
from tests.cpg.render import (
    EDGE_KINDS,
    NODE_KINDS,
    node_labels,
    render_edges,
    render_nodes,
    render_props,
)
from tests.golden import check_golden
from tests.paths import FIXTURE_REPO


@pytest.mark.parametrize("kind", NODE_KINDS)
def test_node_golden(fixture_cpg: CpgBuild, kind: str) -> None:
    check_golden(f"cpg/nodes/{kind}.tsv", render_nodes(fixture_cpg.outputs["cpg_nodes"], kind))


@pytest.mark.parametrize("kind", EDGE_KINDS)
def test_edge_golden(fixture_cpg: CpgBuild, kind: str) -> None:
    labels = node_labels(fixture_cpg.outputs["cpg_nodes"])
    check_golden(
        f"cpg/edges/{kind}.tsv", render_edges(fixture_cpg.outputs["cpg_edges"], labels, kind)
    )


def test_props_golden(fixture_cpg: CpgBuild) -> None:
    check_golden("cpg/props.tsv", render_props(fixture_cpg.outputs["cpg_props"]))


def test_the_graph_holds_together(fixture_cpg: CpgBuild) -> None:
    """Ids unique, no edge dangling, endpoint kinds allowed: what the build's tests check."""
    assert graph_problems(fixture_cpg.outputs) == []
    outcome = dangling_edges(fixture_cpg.outputs["cpg_edges"], fixture_cpg.outputs["cpg_nodes"])
    assert outcome.details["matched_on"] == ["node_id", "node_kind"]


def test_a_broken_graph_is_noticed(fixture_cpg: CpgBuild) -> None:
    """The check above can fail: a repeated node, then a missing one, are each reported."""
    out = dict(fixture_cpg.outputs)
    nodes = out["cpg_nodes"]
    repeated = graph_problems(out | {"cpg_nodes": pa.concat_tables([nodes, nodes.slice(0, 1)])})
    assert repeated == ["cpg_nodes: repeated node_id"]
    (missing,) = graph_problems(out | {"cpg_nodes": nodes.slice(1)})
    assert missing.startswith("dangling edges:")


def test_every_kind_is_produced(fixture_cpg: CpgBuild) -> None:
    nodes = set(fixture_cpg.outputs["cpg_nodes"].column("node_kind").to_pylist())
    edges = set(fixture_cpg.outputs["cpg_edges"].column("edge_kind").to_pylist())
    assert nodes == set(NODE_KINDS)
    assert edges == set(EDGE_KINDS)


def test_edge_ids_name_their_endpoints(fixture_cpg: CpgBuild) -> None:
    for r in fixture_cpg.outputs["cpg_edges"].to_pylist():
        assert r["edge_id"] == f"{r['edge_kind']}:{r['src_id']}->{r['dst_id']}"
        assert 0.0 < r["confidence"] <= 1.0
        assert r["ambiguity_count"] >= 1


def test_containment_is_a_tree(fixture_cpg: CpgBuild) -> None:
    """Every node except FILE, PARAMETER, BINDING and placeholders has exactly one CONTAINS parent."""
    parents: dict[str, int] = {}
    for r in fixture_cpg.outputs["cpg_edges"].to_pylist():
        if r["edge_kind"] == "CONTAINS":
            parents[r["dst_id"]] = parents.get(r["dst_id"], 0) + 1
    for r in fixture_cpg.outputs["cpg_nodes"].to_pylist():
        expected = (
            0 if r["node_kind"] in ("FILE", "PARAMETER", "BINDING", "EXTERNAL", "BUILTIN") else 1
        )
        assert parents.get(r["node_id"], 0) == expected, r["node_id"]


def _rows(table: pa.Table) -> list[tuple[object, ...]]:
    return sorted(tuple(row.values()) for row in table.to_pylist())


def test_two_builds_are_identical(fixture_cpg: CpgBuild) -> None:
    again = build_cpg(FIXTURE_REPO)
    for name in ("cpg_nodes", "cpg_edges", "cpg_props"):
        assert again.outputs[name].schema == fixture_cpg.outputs[name].schema, name
        assert _rows(again.outputs[name]) == _rows(fixture_cpg.outputs[name]), name


def test_public_schemas(fixture_cpg: CpgBuild) -> None:
    """The persisted tables' Arrow schemas (plain strings, no views types leaking out)."""
    text = "".join(
        f"{name}: {', '.join(f'{f.name} {f.type}' for f in fixture_cpg.outputs[name].schema)}\n"
        for name in ("cpg_nodes", "cpg_edges", "cpg_props", "check_edge_endpoint_kinds")
    )
    check_golden("cpg/schemas.txt", text)
