"""CALLS edges of the call-graph fixture programs: exactly the hand-written calls, nothing dangling.

Each program in tests/fixtures/callgraph/ exercises one family of idioms (the value-flow
analysis's feature list, docs/cpg_schema.md "How calls are resolved"). Its `expected.txt` is the
truth written by hand; the golden `callgraph/<name>.tsv` adds how each edge was found (method,
confidence, ambiguity) so a change in resolution is a reviewed diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.execute import ExecutionMode, ExecutorConfig, build
from cpg_core.plan.execution_plan import ExecutionPlan
from tests.cpg.build import (
    CpgBuild,
    build_cpg,
    builtin_plan,
    extract_evidence,
    graph_problems,
)
from tests.cpg.callgraph import (
    FIXTURES,
    Edge,
    call_pairs,
    fixture_names,
    projected_edges,
    read_truth,
)
from tests.cpg.flow_rounds import ROUNDS, stale
from tests.execute.helpers import direct_hashes, hashes
from tests.golden import check_golden

NAME_GUESSES = {"name_only"}


@pytest.fixture(scope="module")
def plan() -> ExecutionPlan:
    return builtin_plan()


@pytest.fixture(scope="module", params=fixture_names())
def program(request: pytest.FixtureRequest, plan: ExecutionPlan) -> tuple[str, CpgBuild]:
    """One fixture program's CPG (module scope: every test below reads the same build)."""
    name: str = request.param
    return name, build_cpg(FIXTURES / name, plan=plan)


def _edges(build: CpgBuild) -> list[Edge]:
    return projected_edges(build.outputs["cpg_nodes"], build.outputs["cpg_edges"])


def test_calls_are_exactly_the_expected(program: tuple[str, CpgBuild]) -> None:
    name, build = program
    got = call_pairs(_edges(build))
    truth = read_truth(FIXTURES / name / "expected.txt")
    assert sorted(got - truth) == [], "edges the program never makes"
    assert sorted(truth - got) == [], "calls the program makes that have no edge"


def test_resolution_golden(program: tuple[str, CpgBuild]) -> None:
    name, build = program
    lines = ["caller\tcallee\ttarget_kind\tresolution_method\tconfidence\tambiguity_count"]
    for e in _edges(build):
        lines.append(
            f"{e.caller}\t{e.callee}\t{e.target_kind}\t{e.method}\t{e.confidence}\t{e.ambiguity}"
        )
    check_golden(f"callgraph/{name}.tsv", "\n".join(lines) + "\n")


def test_nothing_dangles_and_the_fixpoint_is_reached(program: tuple[str, CpgBuild]) -> None:
    _, build = program
    out = build.outputs
    assert graph_problems(out) == []
    last = [r for r in out["flow_convergence"].to_pylist() if r["round"] == ROUNDS]
    assert last == [], f"round {ROUNDS} still finds facts: {last}"


def test_confidence_means_something(program: tuple[str, CpgBuild]) -> None:
    """One flow target is high confidence; a name-only guess is low and never beside a flow target."""
    _, build = program
    calls = [r for r in build.outputs["cpg_edges"].to_pylist() if r["edge_kind"] == "CALLS"]
    flow_sites = {r["src_id"] for r in calls if r["resolution_method"].startswith("value_flow")}
    for r in calls:
        if r["resolution_method"].startswith("value_flow") and r["ambiguity_count"] == 1:
            assert r["confidence"] >= 0.9, r
        if r["resolution_method"] in NAME_GUESSES:
            assert r["confidence"] <= 0.3, r
            assert r["src_id"] not in flow_sites, r


def test_generated_flow_rounds_match_their_templates() -> None:
    assert stale() == [], (
        "run `python -m tests.cpg.flow_rounds` (edit the templates, not the output)"
    )


def test_serial_and_parallel_builds_make_the_same_call_graph(
    tmp_path: Path, plan: ExecutionPlan
) -> None:
    """The value-flow rounds through the real executor: serial and process-parallel agree."""
    inputs = extract_evidence(FIXTURES / "classes_mro_super")
    expected = direct_hashes(plan, inputs)
    configs = {
        "serial": ExecutorConfig(),
        "processes": ExecutorConfig(mode=ExecutionMode.PARALLEL, executor="processes", max_tasks=2),
    }
    for label, config in configs.items():
        result = build(plan, store=tmp_path / label, inputs=inputs, config=config)
        assert hashes(result.tables) == expected, label
