"""Asset order, check specs, and the check evaluators on real tables: the CPG of the fixture
repository (every check passes) and small tables made to fail each check."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pytest

from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project, load_project
from cpg_dagster.specs import (
    ADMITTED,
    IS_EMPTY,
    KEYS_UNIQUE,
    NO_DANGLING_EDGES,
    asset_names,
    asset_specs,
    check_result,
    check_specs,
    edge_views,
    evaluate_admitted,
    evaluate_check,
    evaluate_empty,
    evaluate_keys_unique,
    evaluate_no_dangling_edges,
    node_views,
    planned_checks,
)
from cpg_dagster.translator import CpgTranslator
from tests.cpg.build import CpgBuild, build_cpg
from tests.dagster.projects import write_user_project
from tests.paths import FIXTURE_REPO


@pytest.fixture(scope="module")
def builtin_plan(tmp_path_factory: pytest.TempPathFactory) -> ExecutionPlan:
    root = tmp_path_factory.mktemp("builtin")
    return compile_plan(Project.from_views([], store=root / "store", repo=root), cache=False)


@pytest.fixture(scope="module")
def user_plan(tmp_path_factory: pytest.TempPathFactory) -> ExecutionPlan:
    root = tmp_path_factory.mktemp("user")
    return compile_plan(load_project(write_user_project(root)), cache=False)


@pytest.fixture(scope="module")
def fixture_build(builtin_plan: ExecutionPlan) -> CpgBuild:
    return build_cpg(FIXTURE_REPO, plan=builtin_plan)


def checks_of(plan: ExecutionPlan) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for check in planned_checks(plan):
        out.setdefault(check.view, set()).add(check.name)
    return out


# -- order and specs --------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["builtin_plan", "user_plan"])
def test_asset_specs_are_in_topological_order(fixture: str, request: pytest.FixtureRequest) -> None:
    plan: ExecutionPlan = request.getfixturevalue(fixture)
    specs = asset_specs(plan)
    position = {spec.key: i for i, spec in enumerate(specs)}
    for i, spec in enumerate(specs):
        for dep in spec.deps:
            if dep.asset_key in position:
                assert position[dep.asset_key] < i, (spec.key, dep.asset_key)
    assert [s.key.path[-1] for s in specs] == asset_names(plan)


def test_builtin_checks(builtin_plan: ExecutionPlan) -> None:
    checks = checks_of(builtin_plan)
    persisted = {n for n, t in builtin_plan.tasks.items() if t.view.persisted}
    assert set(checks) == persisted
    assert all(ADMITTED in names for names in checks.values())
    with_keys = {n for n in persisted if builtin_plan.tasks[n].view.keys}
    assert {n for n, names in checks.items() if KEYS_UNIQUE in names} == with_keys
    assert {n for n, names in checks.items() if NO_DANGLING_EDGES in names} == {"cpg_edges"}
    assert {n for n, names in checks.items() if IS_EMPTY in names} == {
        "check_dangling_edges",
        "check_duplicate_ids",
        "check_edge_endpoint_kinds",
    }
    assert edge_views(builtin_plan) == ["cpg_edges"] and node_views(builtin_plan) == ["cpg_nodes"]


def test_check_specs_are_real_and_blocking_only_for_admitted(builtin_plan: ExecutionPlan) -> None:
    specs = check_specs(builtin_plan)
    assert all(isinstance(s, dg.AssetCheckSpec) for s in specs)
    assert {s.name for s in specs if s.blocking} == {ADMITTED}
    dangling = next(s for s in specs if s.name == NO_DANGLING_EDGES)
    assert dangling.asset_key == dg.AssetKey(["cpg_edges"])
    assert [d.asset_key for d in dangling.additional_deps] == [dg.AssetKey(["cpg_nodes"])]
    assert len({s.key for s in specs}) == len(specs)


def test_blocking_is_a_translator_decision(builtin_plan: ExecutionPlan) -> None:
    class Strict(CpgTranslator):
        def get_check_blocking(self, plan: ExecutionPlan, name: str, check: str) -> bool:
            return True

    assert all(s.blocking for s in check_specs(builtin_plan, Strict()))


def test_user_project_checks(user_plan: ExecutionPlan) -> None:
    checks = checks_of(user_plan)
    assert checks["customer_totals"] == {ADMITTED, KEYS_UNIQUE}
    assert checks["negative_totals"] == {ADMITTED, IS_EMPTY}  # `@tags: check`
    assert checks["broken"] == {ADMITTED} and checks["after_broken"] == {ADMITTED}
    assert "orders_clean" not in checks  # inline: no asset, no checks
    outcome = evaluate_admitted(user_plan, "broken")
    assert not outcome.passed
    assert outcome.metadata["codes"] == ["unknown_column"]
    assert "nope" in outcome.metadata["problem_list"][0]
    after = evaluate_admitted(user_plan, "after_broken")
    assert not after.passed and after.metadata["codes"] == ["upstream_invalid"]
    ok = evaluate_admitted(user_plan, "customer_totals")
    assert ok.passed and ok.metadata["problems"] == 0
    assert ok.metadata["fingerprint"] == user_plan.tasks["customer_totals"].fingerprint


# -- outcomes on the real CPG -----------------------------------------------------------------------


def test_every_check_passes_on_the_fixture_cpg(
    builtin_plan: ExecutionPlan, fixture_build: CpgBuild
) -> None:
    translator = CpgTranslator(key_prefix="fx")
    tables = {**fixture_build.evidence, **fixture_build.outputs}
    checks = planned_checks(builtin_plan, translator)
    for check in checks:
        outcome = evaluate_check(builtin_plan, check, tables.__getitem__)
        assert outcome.passed, (check.view, check.name, outcome.metadata)
        result = check_result(translator, check, outcome)
        assert isinstance(result, dg.AssetCheckResult)
        assert result.asset_key == dg.AssetKey(["fx", check.view]) and result.passed
    dangling = next(c for c in checks if c.name == NO_DANGLING_EDGES)
    metadata = evaluate_check(builtin_plan, dangling, tables.__getitem__).metadata
    assert metadata["edges"] == tables["cpg_edges"].num_rows > 0
    assert metadata["matched_on"] == ["node_id", "node_kind"]


def test_dangling_edges_fail_on_a_damaged_cpg(fixture_build: CpgBuild) -> None:
    edges = fixture_build.outputs["cpg_edges"]
    nodes = fixture_build.outputs["cpg_nodes"]
    victim = edges.column("dst_id")[0].as_py()
    kept = nodes.filter(pa.array([v != victim for v in nodes.column("node_id").to_pylist()]))
    outcome = evaluate_no_dangling_edges(edges, kept)
    assert not outcome.passed
    pointing = sum(
        (e["src_id"] == victim) + (e["dst_id"] == victim)
        for e in edges.select(["src_id", "dst_id"]).to_pylist()
    )
    assert outcome.metadata["missing_nodes"] == 1
    assert outcome.metadata["dangling_edges"] == pointing
    assert outcome.metadata["missing_sample"][0]["node_id"] == victim
    assert all(row["node_id"] == victim for row in outcome.metadata["sample"])
    assert outcome.description and "missing node" in outcome.description


# -- outcomes on small tables -----------------------------------------------------------------------


def test_keys_unique() -> None:
    table = pa.table({"a": [1, 1, 2, None, None], "b": ["x", "x", "y", None, None], "v": range(5)})
    assert evaluate_keys_unique(table, ["a", "b", "v"]).passed
    outcome = evaluate_keys_unique(table, ["a", "b"])
    assert not outcome.passed
    assert outcome.metadata == {
        "rows": 5,
        "distinct_keys": 3,
        "duplicate_keys": 2,
        "duplicate_rows": 4,
        "sample": [
            {"a": 1, "b": "x", "occurrences": 2},
            {"a": None, "b": None, "occurrences": 2},
        ],
    }
    missing = evaluate_keys_unique(table, ["a", "nope"])
    assert not missing.passed and missing.metadata == {"missing_key_columns": ["nope"]}
    assert evaluate_keys_unique(table.slice(0, 0), ["a"]).passed


def test_no_dangling_edges_without_kinds() -> None:
    nodes = pa.table({"node_id": ["a", "b"]})
    edges = pa.table({"edge_id": ["e1", "e2"], "src_id": ["a", "b"], "dst_id": ["b", "c"]})
    outcome = evaluate_no_dangling_edges(edges, nodes)
    assert not outcome.passed
    assert outcome.metadata["matched_on"] == ["node_id"]
    assert outcome.metadata["sample"] == [{"edge_id": "e2", "node_id": "c", "end": "dst"}]
    assert evaluate_no_dangling_edges(edges.slice(0, 1), nodes).passed


def test_no_dangling_edges_checks_declared_kinds() -> None:
    nodes = pa.table({"node_id": ["a", "b"], "node_kind": ["FUNCTION", "CLASS"]})
    edges = pa.table(
        {
            "edge_id": ["e1"],
            "src_id": ["a"],
            "src_kind": ["FUNCTION"],
            "dst_id": ["b"],
            "dst_kind": ["FUNCTION"],  # b exists, but as a CLASS
        }
    )
    outcome = evaluate_no_dangling_edges(edges, nodes)
    assert not outcome.passed and outcome.metadata["dangling_edges"] == 1
    assert outcome.metadata["missing_sample"] == [{"node_id": "b", "node_kind": "FUNCTION"}]


def test_empty() -> None:
    assert evaluate_empty(pa.table({"x": pa.array([], pa.int64())})).passed
    outcome = evaluate_empty(pa.table({"x": [1, 2], "d": pa.array([0, 1], pa.date32())}))
    assert not outcome.passed
    assert outcome.metadata == {
        "rows": 2,
        "sample": [{"x": 1, "d": "1970-01-01"}, {"x": 2, "d": "1970-01-02"}],
    }
