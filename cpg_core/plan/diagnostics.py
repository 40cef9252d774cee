"""Pictures and facts about the plan graph: DOT, Mermaid, node-link JSON, components, isolates."""

from __future__ import annotations

import rustworkx as rx

from cpg_core.plan.execution_plan import ExecutionPlan


def _label(data: dict[str, object]) -> str:
    return f"{data['kind']}:{data['name']}"


def to_dot(plan: ExecutionPlan) -> str:
    """Graphviz DOT: datasets as boxes (evidence grey, sources blue), tasks as ellipses,
    critical-path tasks bold, tasks that are not admitted red and dashed."""
    critical = set(plan.schedule.critical_path)

    def node_attr(data: dict[str, object]) -> dict[str, str]:
        name = str(data["name"])
        if data["kind"] == "dataset":
            kind = str(data["dataset_kind"])
            color = {"evidence": "grey", "source": "steelblue"}.get(kind, "black")
            shape = "note" if kind == "view" else "box"
            return {"label": name, "shape": shape, "color": color}
        attrs = {"label": name, "shape": "ellipse"}
        if not data.get("admitted"):
            attrs |= {"color": "red", "style": "dashed"}
        elif name in critical:
            attrs |= {"penwidth": "3"}
        return attrs

    def edge_attr(data: dict[str, object]) -> dict[str, str]:
        columns = data.get("columns") or ()
        assert isinstance(columns, tuple)
        return {"tooltip": ", ".join(columns)} if columns else {}

    dot = plan.graph.to_dot(node_attr=node_attr, edge_attr=edge_attr, graph_attr={"rankdir": "LR"})
    return dot or ""


def _mermaid_id(data: dict[str, object]) -> str:
    prefix = "d" if data["kind"] == "dataset" else "t"
    return f"{prefix}_{data['name']}"


def to_mermaid(plan: ExecutionPlan) -> str:
    """A Mermaid flowchart of the view graph (view outputs are folded into their tasks)."""
    lines = ["flowchart LR"]
    critical = set(plan.schedule.critical_path)
    for name, dataset in sorted(plan.datasets.items()):
        if dataset.kind != "view":
            lines.append(f"    d_{name}[({name})]")
    for name, task in sorted(plan.tasks.items()):
        lines.append(f"    t_{name}[{name}]")
        if not task.admitted:
            lines.append(f"    class t_{name} invalid")
        elif name in critical:
            lines.append(f"    class t_{name} critical")
    for name, task in sorted(plan.tasks.items()):
        for table in task.inputs:
            source = f"t_{table}" if table in plan.tasks else f"d_{table}"
            lines.append(f"    {source} --> t_{name}")
    lines.append("    classDef critical stroke-width:3px")
    lines.append("    classDef invalid stroke:#c00,stroke-dasharray:4")
    return "\n".join(lines) + "\n"


def to_node_link_json(plan: ExecutionPlan) -> str:
    """rustworkx node-link JSON (attributes are str → str, as node_link_json requires)."""

    def node_attrs(data: dict[str, object]) -> dict[str, str]:
        out = {"id": _label(data), "kind": str(data["kind"]), "name": str(data["name"])}
        if data["kind"] == "task":
            task = plan.tasks[str(data["name"])]
            out |= {"admitted": str(task.admitted).lower(), "fingerprint": task.fingerprint}
        else:
            out["dataset_kind"] = str(data["dataset_kind"])
        return out

    def edge_attrs(data: dict[str, object]) -> dict[str, str]:
        columns = data.get("columns") or ()
        assert isinstance(columns, tuple)
        return {"columns": ",".join(columns)}

    text = rx.node_link_json(plan.graph, node_attrs=node_attrs, edge_attrs=edge_attrs)
    return text or ""


def weak_components(plan: ExecutionPlan) -> list[list[str]]:
    """Groups of views connected through any dataset, each sorted, largest first."""
    groups = []
    for component in rx.weakly_connected_components(plan.graph):
        names = sorted(plan.graph[i]["name"] for i in component if plan.graph[i]["kind"] == "task")
        if names:
            groups.append(names)
    return sorted(groups, key=lambda g: (-len(g), g))


def isolates(plan: ExecutionPlan) -> list[str]:
    """Input datasets no view reads (often a typo or a leftover source)."""
    return sorted(
        plan.graph[i]["name"]
        for i in plan.graph.node_indices()
        if plan.graph[i]["kind"] == "dataset"
        and plan.graph[i]["dataset_kind"] != "view"
        and plan.graph.out_degree(i) == 0
    )
