"""How much of the value-flow fixpoint one edited file can change (issue 19's blocker, measured).

The call graph's value flow (docs/cpg_schema.md, "How calls are resolved") is rebuilt whole
after every edit. Could it be re-solved only where an edit reaches? This measures a lower
bound of that region on a built store: the nodes reachable, along the flow graph's edges
(the static ones in `flow_static` and every rule-made `edge` of the rounds), from the edited
file's nodes and from the nodes holding a value the file defines. Values reach at least
those nodes, so an exact incremental re-solve would redo at least their points-to facts
(the real region is larger: rules fired at a reached node make new edges elsewhere).
Starting from every node of the file is what an edit near its top costs (node ids are byte
offsets: every id after the edit moves); a function appended at the end moves no id, and
only what the new function's values reach changes.

Per edited file: the nodes it starts from, the nodes and files reached, the share of all
points-to facts held by reached nodes, and the reached nodes with the most reached successors
(the hubs: a context-insensitive analysis merges every call of a function, so whatever
reaches a common helper's parameters reaches all its callers).

    .venv/bin/python -m benchmarks.bench_flow_reach [--repo DIR] [--store DIR] [--json]

Without `--store`, the CPG of `--repo` (default: the stdlib) is built cold into a temporary
store first (about a minute on the stdlib). Exit status 0 whatever the numbers: a report.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import rustworkx as rx

from benchmarks.harness import add_tree, benchmark_parser, emit, load_1min
from benchmarks.stdlib_copy import EDITED, TEN_FILES, WIDELY_IMPORTED
from cpg_core.pipeline import build_project
from cpg_core.project import load_project
from cpg_core.store.delta_store import DeltaStore

ROUND_TABLE = re.compile(r"flow_round_\d+")
# the file in a node or value id: `symbol:pkg/mod.py:10:20#x`, `symbol:pkg/mod.py#x`, `def:...`
FILE_IN_ID = re.compile(r"(?:^|:)([^:|#]+\.py)(?=[:#|]|$)")


def flow_graph(store: DeltaStore) -> tuple[rx.PyDiGraph, dict[str, int]]:
    """The flow graph of a built store: static edges and the rounds' rule-made edges."""
    graph: rx.PyDiGraph = rx.PyDiGraph()
    index: dict[str, int] = {}

    def node(name: str) -> int:
        found = index.get(name)
        if found is None:
            found = index[name] = graph.add_node(name)
        return found

    static = store.read("flow_static", where=pc.field("kind") == "edge")
    pairs: list[tuple[Iterable[str], Iterable[str]]] = [
        (static["a"].to_pylist(), static["b"].to_pylist())
    ]
    for name in filter(ROUND_TABLE.fullmatch, store.names()):
        made = store.read(name, where=pc.field("kind") == "edge")
        pairs.append((made["node"].to_pylist(), made["value"].to_pylist()))
    graph.add_edges_from_no_data(
        [
            (node(a), node(b))
            for sources, targets in pairs
            for a, b in zip(sources, targets, strict=True)
        ]
    )
    return graph, index


def file_of(node_id: str) -> str | None:
    found = FILE_IN_ID.search(node_id)
    return found.group(1) if found else None


def reach(
    graph: rx.PyDiGraph, index: dict[str, int], pts: dict[str, list[str]], paths: Sequence[str]
) -> dict[str, Any]:
    """What values from the files `paths` reach: start nodes, reached nodes, files, hubs."""
    edited = set(paths)
    start = {name for name in index if file_of(name) in edited}
    start |= {node for node, values in pts.items() if any(file_of(v) in edited for v in values)}
    source = graph.add_node("")  # one search from all start nodes at once
    graph.add_edges_from_no_data([(source, index[name]) for name in start if name in index])
    reached = start | {graph[i] for i in rx.descendants(graph, source)}
    graph.remove_node(source)
    facts = sum(len(pts.get(name, ())) for name in reached)
    hubs = sorted(
        (
            (sum(graph[j] in reached for j in graph.successor_indices(index[n])), n)
            for n in reached
            if n in index
        ),
        reverse=True,
    )[:3]
    return {
        "paths": list(paths),
        "start_nodes": len(start),
        "reached_nodes": len(reached),
        "reached_files": len({f for f in map(file_of, reached) if f is not None}),
        "pts_facts_at_reached": facts,
        "hubs": [[n, name] for n, name in hubs],
    }


def measure(store: DeltaStore) -> dict[str, Any]:
    graph, index = flow_graph(store)
    table = store.read("flow_pts")
    pts: dict[str, list[str]] = {}
    for node, value in zip(table["node"].to_pylist(), table["value"].to_pylist(), strict=True):
        pts.setdefault(node, []).append(value)
    edits = {"one_file": [EDITED], "ten_files": list(TEN_FILES), "os_py": [WIDELY_IMPORTED]}
    return {
        "nodes": graph.num_nodes(),
        "edges": graph.num_edges(),
        "files": len({f for f in map(file_of, index) if f is not None}),
        "pts_facts": table.num_rows,
        "edits": {name: reach(graph, index, pts, paths) for name, paths in edits.items()},
    }


def run(repo: Path, store: Path | None) -> dict[str, Any]:
    if store is not None:
        found = measure(DeltaStore(store))
    else:
        with tempfile.TemporaryDirectory(prefix="cpg-reach-") as tmp:
            toml = Path(tmp) / "cpg.toml"
            toml.write_text(f'store = "store"\nrepo = "{repo.resolve()}"\n', encoding="utf-8")
            build_project(load_project(toml))
            found = measure(DeltaStore(Path(tmp) / "store"))
    return {"repo": str(repo), **found, "load_1min": load_1min()}


def render(result: dict[str, Any]) -> str:
    facts = result["pts_facts"]
    lines = [
        f"{result['repo']}: flow graph {result['nodes']} nodes, {result['edges']} edges, "
        f"{result['files']} files, {facts} points-to facts (1-minute load {result['load_1min']:.1f})"
    ]
    for name, r in result["edits"].items():
        lines.append(
            f"{name:>10}: from {r['start_nodes']} nodes, reached >= {r['reached_nodes']} nodes "
            f"({r['reached_nodes'] / result['nodes']:.1%}) in {r['reached_files']} files, holding "
            f"{r['pts_facts_at_reached']} facts ({r['pts_facts_at_reached'] / facts:.1%})"
        )
        lines += [f"            hub: {name!r} -> {n} reached successors" for n, name in r["hubs"]]
    return "\n".join(lines)


def main() -> int:
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--repo")
    parser.add_argument("--store", type=Path, default=None, help="a store built from --repo")
    args = parser.parse_args()
    emit(run(args.repo, args.store), as_json=args.json, render=render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
