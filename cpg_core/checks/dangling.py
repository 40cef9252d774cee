"""The `no_dangling_edges` check of CPG-shaped views, with Arrow compute (simpler than SQL here:
it matches on `(id, kind)` or on `id` alone depending on the columns both tables carry)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cpg_core.checks.outcome import SAMPLE_ROWS, Outcome, sample_rows


def dangling_edges(edges: pa.Table, nodes: pa.Table, limit: int = SAMPLE_ROWS) -> Outcome:
    """Edges with an endpoint that is no node. The failing rows are the dangling endpoints
    (an edge whose two ends are missing counts twice).

    Endpoints match on `(node_id, node_kind)` when the edges carry `src_kind`/`dst_kind` and the
    nodes `node_kind`, else on `node_id` alone. The distinct endpoints are checked first, then the
    edges holding a missing one are counted."""
    with_kinds = {"src_kind", "dst_kind"} <= set(edges.column_names) and (
        "node_kind" in nodes.column_names
    )
    keys = ["node_id", "node_kind"] if with_kinds else ["node_id"]
    ends: list[pa.Table] = []
    for end in ("src", "dst"):
        columns = [f"{end}_id", f"{end}_kind"] if with_kinds else [f"{end}_id"]
        ends.append(edges.select(columns).rename_columns(keys))
    endpoints = pa.concat_tables(ends).group_by(keys).aggregate([])
    missing = endpoints.join(
        nodes.select(keys).group_by(keys).aggregate([]), keys=keys, join_type="left anti"
    )
    details: dict[str, Any] = {
        "edges": edges.num_rows,
        "endpoints": endpoints.num_rows,
        "missing_nodes": missing.num_rows,
        "matched_on": keys,
    }
    if not missing.num_rows:
        return Outcome(0, details=details | {"dangling_edges": 0})
    dangling = 0
    samples: list[pa.Table] = []
    id_column = "edge_id" if "edge_id" in edges.column_names else None
    for end in ("src", "dst"):
        columns = [f"{end}_id", f"{end}_kind"] if with_kinds else [f"{end}_id"]
        bad = edges.join(missing.rename_columns(columns), keys=columns, join_type="left semi")
        dangling += bad.num_rows
        if id_column is not None:
            samples.append(
                bad.select([id_column, *columns])
                .rename_columns([id_column, *keys])
                .append_column("end", pa.array([end] * bad.num_rows, pa.string()))
            )
    details["dangling_edges"] = dangling
    details["missing_sample"] = sample_rows(
        missing.sort_by([(k, "ascending") for k in keys]), limit
    )
    sample: list[dict[str, Any]] = []
    if samples:
        ordered = pa.concat_tables(samples).sort_by([(id_column or "node_id", "ascending")])
        sample = sample_rows(ordered, limit)
    text = f"{dangling} edge endpoint(s) point at {missing.num_rows} missing node(s)"
    return Outcome(dangling, tuple(sample), details, text)
