"""On generated programs, CALLS covers every call the program really makes, and nothing else exists.

A program is a random mix of the idioms value flow follows (aliases, functions passed, returned,
stored in lists and dicts, decorators, instances and their methods). It is run under a profiler,
which records the calls that happen between its own functions; the CPG must have each of them,
and each CALLS edge must end at a function or class the program defines, a builtin or an
EXTERNAL name (a static analysis may over-approximate, never invent).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.plan.execution_plan import ExecutionPlan
from tests.cpg.build import build_cpg, builtin_plan
from tests.cpg.callgraph import call_pairs, projected_edges

# each example is a whole CPG build (seconds): a few in CI, more with CPG_PROPERTY_EXAMPLES=50
EXAMPLES = int(os.environ.get("CPG_PROPERTY_EXAMPLES", "4"))
N = 3  # functions of each shape, classes
HEADER = "\n".join(
    [
        *(f"def f{i}(x=None):\n    return x\n" for i in range(N)),
        *(f"def g{i}(cb):\n    return cb()\n" for i in range(N)),
        *(f"def h{i}():\n    return f{i}\n" for i in range(N)),
        "def deco(fn):\n    def wrapper():\n        return fn()\n    return wrapper\n",
        *(
            f"class C{i}:\n    def __init__(self):\n        self.cb = f{i}\n"
            f"    def m(self, cb):\n        return cb()\n    def run(self):\n        return self.cb()\n"
            for i in range(N)
        ),
    ]
)
IDX = st.integers(0, N - 1)
STATEMENTS = st.one_of(
    st.builds(lambda j, k: f"a{k} = f{j}\na{k}()", IDX, IDX),
    st.builds(lambda i, j: f"g{i}(f{j})", IDX, IDX),
    st.builds(lambda i: f"h{i}()()", IDX),
    st.builds(lambda i, j: f"g{i}(h{j}())", IDX, IDX),
    st.builds(lambda j, k: f"[f{j}, f{k}][1]()", IDX, IDX),
    st.builds(lambda j, k: f"d{k} = {{'k': f{j}}}\nd{k}['k']()", IDX, IDX),
    st.builds(lambda i, j: f"C{i}().m(f{j})", IDX, IDX),
    st.builds(lambda i: f"o{i} = C{i}()\no{i}.run()", IDX),
    st.builds(lambda j, k: f"@deco\ndef w{k}():\n    return f{j}()\nw{k}()", IDX, IDX),
)


@pytest.fixture(scope="module")
def plan_for_property() -> ExecutionPlan:
    return builtin_plan()


def observed_calls(path: Path) -> set[tuple[str, str]]:
    """(caller, callee) qualified names of the calls between the program's functions as it runs."""
    calls: set[tuple[str, str]] = set()
    filename = str(path)

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        back = frame.f_back
        if event != "call" or frame.f_code.co_filename != filename or back is None:
            return
        callee = frame.f_code.co_qualname
        if callee.startswith("C") and "." not in callee:  # a class body runs as a call
            return
        caller = back.f_code.co_qualname if back.f_code.co_filename == filename else None
        if caller is not None:
            calls.add(("main" if caller == "<module>" else f"main.{caller}", f"main.{callee}"))

    code = compile(path.read_text(encoding="utf-8"), filename, "exec")
    sys.setprofile(profile)
    try:
        exec(code, {"__name__": "main"})  # the generated program, nothing else
    finally:
        sys.setprofile(None)
    return calls


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.lists(STATEMENTS, min_size=1, max_size=8))
def test_calls_cover_runtime_calls_and_end_at_definitions(
    body: list[str], tmp_path_factory: Any, plan_for_property: ExecutionPlan
) -> None:
    root: Path = tmp_path_factory.mktemp("prog")
    program = root / "main.py"
    program.write_text(HEADER + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    build = build_cpg(root, plan=plan_for_property)
    nodes, edges = build.outputs["cpg_nodes"], build.outputs["cpg_edges"]
    kinds = dict(zip(nodes["node_id"].to_pylist(), nodes["node_kind"].to_pylist(), strict=True))
    for r in edges.to_pylist():
        if r["edge_kind"] == "CALLS":
            assert kinds.get(r["dst_id"]) in ("FUNCTION", "CLASS", "BUILTIN", "EXTERNAL"), r
    static = call_pairs(projected_edges(nodes, edges))
    missing = sorted(observed_calls(program) - static)
    assert missing == [], program.read_text(encoding="utf-8")


def test_the_profiler_sees_calls(tmp_path: Path) -> None:
    """The runtime side of the property observes calls (so an empty difference means something)."""
    program = tmp_path / "main.py"
    program.write_text(HEADER + "\nC1().m(f2)\nw = deco(f0)\nw()\n", encoding="utf-8")
    seen = observed_calls(program)
    assert {("main", "main.C1.__init__"), ("main.C1.m", "main.f2")} <= seen
    assert ("main.deco.<locals>.wrapper", "main.f0") in seen
