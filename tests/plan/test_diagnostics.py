"""DOT, Mermaid, node-link JSON, weak components and isolates of a real compiled plan."""

from __future__ import annotations

import json
from pathlib import Path

from cpg_core.plan import diagnostics
from tests.plan.projects import compile_views


def test_diagnostics_of_a_plan_with_two_components_and_an_unread_source(tmp_path: Path) -> None:
    plan = compile_views(
        tmp_path,
        {
            "a": "select order_id, amount from orders",
            "b": "select sum(amount) as s from a",
            "lonely": "select 1 as one",
            "bad": "select nope from a",
        },
    )
    # `customers` is a source nobody reads; `lonely` reads nothing; `bad` is not admitted.
    assert diagnostics.isolates(plan) == ["customers"]
    assert diagnostics.weak_components(plan) == [["a", "b", "bad"], ["lonely"]]
    dot = diagnostics.to_dot(plan)
    assert 'label="bad", shape=ellipse, style=dashed' in dot.replace("color=red, ", "")
    assert "penwidth=3" in dot
    mermaid = diagnostics.to_mermaid(plan)
    assert (
        "d_orders --> t_a" in mermaid
        and "t_a --> t_b" in mermaid
        and "class t_bad invalid" in mermaid
    )
    graph = json.loads(diagnostics.to_node_link_json(plan))
    nodes = {n["id"]: n["data"] for n in graph["nodes"]}
    by_id = {data["id"]: data for data in nodes.values()}
    assert by_id["task:a"]["admitted"] == "true" and by_id["task:bad"]["admitted"] == "false"
    assert by_id["task:a"]["fingerprint"] == plan.tasks["a"].fingerprint
    columns = {
        (nodes[e["source"]]["id"], nodes[e["target"]]["id"]): e["data"]["columns"]
        for e in graph["links"]
    }
    assert columns[("dataset:orders", "task:a")] == "amount,order_id"
    assert columns[("dataset:a", "task:b")] == "amount"
