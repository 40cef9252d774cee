"""Human-readable renderings of the CPG tables for golden files (one sorted text file per kind)."""

from __future__ import annotations

import pyarrow as pa

NODE_KINDS = (
    "FILE", "MODULE", "CLASS", "FUNCTION", "LAMBDA", "PARAMETER", "BINDING",
    "REFERENCE", "CALL", "IMPORT", "EXTERNAL", "BUILTIN",
)  # fmt: skip
EDGE_KINDS = (
    "CONTAINS", "HAS_PARAM", "DEFINES", "READS", "WRITES", "BINDS_TO",
    "RESOLVES_TO", "CALLS", "IMPORTS", "INHERITS", "DEF_USE",
)  # fmt: skip


def node_labels(nodes: pa.Table) -> dict[str, str]:
    """A short label per node: kind plus qualified name, or name plus `path:line:col`."""
    rows = nodes.to_pylist()
    by_id = {r["node_id"]: r for r in rows}
    labels: dict[str, str] = {}
    for r in rows:
        kind = r["node_kind"]
        if kind in ("MODULE", "CLASS", "FUNCTION", "LAMBDA", "EXTERNAL", "BUILTIN"):
            where = f" @{r['path']}:{r['line']}" if kind == "LAMBDA" else ""
            labels[r["node_id"]] = f"{kind} {r['fqname']}{where}"
        elif kind == "FILE":
            labels[r["node_id"]] = f"FILE {r['path']}"
        elif kind in ("PARAMETER", "BINDING"):
            owner = by_id.get(r["parent_id"] or "", {}).get("fqname")
            labels[r["node_id"]] = f"{kind} {r['name']} in {owner}"
        else:
            labels[r["node_id"]] = f"{kind} {r['name']} @{r['path']}:{r['line']}:{r['col']}"
    return labels


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_nodes(nodes: pa.Table, kind: str) -> str:
    """Nodes of one kind: id, name, qualified name, position, container; sorted by id."""
    rows = sorted(
        (r for r in nodes.to_pylist() if r["node_kind"] == kind), key=lambda r: r["node_id"]
    )
    out = ["node_id\tname\tfqname\tposition\tparent_id"]
    for r in rows:
        pos = "-" if r["line"] is None else f"{r['line']}:{r['col']}-{r['end_line']}:{r['end_col']}"
        out.append(
            "\t".join(_fmt(v) for v in (r["node_id"], r["name"], r["fqname"], pos, r["parent_id"]))
        )
    return "\n".join(out) + "\n"


def render_edges(edges: pa.Table, labels: dict[str, str], kind: str) -> str:
    """Edges of one kind with readable endpoints, then the exact ids; sorted by label."""
    rows = [r for r in edges.to_pylist() if r["edge_kind"] == kind]
    lines = []
    for r in rows:
        fields = (
            labels.get(r["src_id"], "?" + r["src_id"]),
            labels.get(r["dst_id"], "?" + r["dst_id"]),
            r["confidence"],
            r["resolution_method"],
            r["ambiguity_count"],
            r["src_id"],
            r["dst_id"],
        )
        lines.append("\t".join(_fmt(v) for v in fields))
    header = "src\tdst\tconfidence\tresolution_method\tambiguity_count\tsrc_id\tdst_id"
    return "\n".join([header, *sorted(lines)]) + "\n"


def render_props(props: pa.Table) -> str:
    """Every (node, key, value) row, sorted."""
    rows = sorted((r["node_id"], r["key"], r["value"]) for r in props.to_pylist())
    return "".join(f"{n}\t{k}\t{v!r}\n" for n, k, v in rows)
