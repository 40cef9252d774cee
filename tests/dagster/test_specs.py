"""Asset order, check specs, and check results translated from the core evaluator's results on
real tables: the CPG of the fixture repository (every check passes) and small tables made to
fail each check. Nothing is evaluated by cpg_dagster itself."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pytest

from cpg_core.checks.evaluate import evaluate
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.planned_tests import PlannedTest, builtin_test, declared_test, gates_readers
from cpg_core.project import Project, load_project
from cpg_core.views.model import DeclaredTest
from cpg_dagster.specs import (
    ADMITTED,
    IS_EMPTY,
    KEYS_UNIQUE,
    NO_DANGLING_EDGES,
    CheckOutcome,
    asset_names,
    asset_specs,
    check_result,
    check_specs,
    edge_views,
    evaluate_admitted,
    node_views,
    outcome_of,
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
    assert set(checks) <= persisted
    assert all(t.admitted for t in builtin_plan.tasks.values())
    assert not any(ADMITTED in names for names in checks.values())  # it could only pass
    with_keys = {n for n in persisted if builtin_plan.tasks[n].view.keys}
    assert {n for n, names in checks.items() if KEYS_UNIQUE in names} == with_keys
    assert {n for n, names in checks.items() if NO_DANGLING_EDGES in names} == {"cpg_edges"}
    assert {n for n, names in checks.items() if IS_EMPTY in names} == {
        "check_edge_endpoint_kinds",
    }
    assert edge_views(builtin_plan) == ["cpg_edges"] and node_views(builtin_plan) == ["cpg_nodes"]


def test_check_specs_are_real_and_block_like_the_build(builtin_plan: ExecutionPlan) -> None:
    """A check blocks downstream exactly when the core build stops the view's readers on its
    failure: `admitted`, and error-severity tests reading nothing built after their view."""
    specs = {(s.asset_key.path[-1], s.name): s for s in check_specs(builtin_plan)}
    assert all(isinstance(s, dg.AssetCheckSpec) for s in specs.values())
    for check in planned_checks(builtin_plan):
        expected = check.test is None or gates_readers(builtin_plan, check.test)
        assert specs[(check.view, check.name)].blocking == expected, check
    assert specs[("cpg_nodes", KEYS_UNIQUE)].blocking
    dangling = specs[("cpg_edges", NO_DANGLING_EDGES)]
    assert [d.asset_key for d in dangling.additional_deps] == [dg.AssetKey(["cpg_nodes"])]
    assert len(specs) == len(check_specs(builtin_plan))


def test_blocking_is_a_translator_decision(builtin_plan: ExecutionPlan) -> None:
    class Strict(CpgTranslator):
        def get_check_blocking(self, plan: ExecutionPlan, name: str, check: str) -> bool:
            return True

    assert all(s.blocking for s in check_specs(builtin_plan, Strict()))


def test_user_project_checks(user_plan: ExecutionPlan) -> None:
    checks = checks_of(user_plan)
    assert checks["customer_totals"] == {KEYS_UNIQUE}  # admitted: no `admitted` check
    assert checks["negative_totals"] == {IS_EMPTY}  # `@tags: check`
    assert checks["broken"] == {ADMITTED} and checks["after_broken"] == {ADMITTED}
    assert "orders_clean" not in checks  # inline: no asset, no checks
    outcome = evaluate_admitted(user_plan, "broken")
    assert not outcome.passed
    assert outcome.metadata["codes"] == "unknown_column"
    # the description is the problem itself: file:line:col, code and message
    problem = user_plan.tasks["broken"].problems[0]
    assert outcome.description == problem.format()
    assert outcome.description is not None
    assert "views/broken.sql:" in outcome.description and "nope" in outcome.description
    after = evaluate_admitted(user_plan, "after_broken")
    assert not after.passed and after.metadata["codes"] == "upstream_invalid"
    ok = evaluate_admitted(user_plan, "customer_totals")
    assert ok.passed and ok.description is None
    assert ok.metadata == {"fingerprint": user_plan.tasks["customer_totals"].fingerprint}


# -- outcomes on the real CPG -----------------------------------------------------------------------


def test_every_check_passes_on_the_fixture_cpg(
    builtin_plan: ExecutionPlan, fixture_build: CpgBuild
) -> None:
    translator = CpgTranslator(key_prefix="fx")
    tables = {**fixture_build.evidence, **fixture_build.outputs}
    checks = [c for c in planned_checks(builtin_plan, translator) if c.test is not None]
    assert checks
    for check in checks:
        assert check.test is not None
        outcome = outcome_of(evaluate(check.test, tables))
        assert outcome.passed, (check.view, check.name, outcome.description)
        result = check_result(translator, check, outcome)
        assert isinstance(result, dg.AssetCheckResult)
        assert result.asset_key == dg.AssetKey(["fx", check.view]) and result.passed
    dangling = next(c for c in checks if c.name == NO_DANGLING_EDGES)
    assert dangling.test is not None
    details = outcome_of(evaluate(dangling.test, tables)).metadata["details"].data
    assert details["edges"] == tables["cpg_edges"].num_rows > 0
    assert details["matched_on"] == ["node_id", "node_kind"]


def _outcome(test: PlannedTest, tables: dict[str, pa.Table]) -> CheckOutcome:
    """What a check shows for the core's result of `test` over `tables`."""
    return outcome_of(evaluate(test, tables))


def test_dangling_edges_fail_on_a_damaged_cpg(fixture_build: CpgBuild) -> None:
    edges = fixture_build.outputs["cpg_edges"]
    nodes = fixture_build.outputs["cpg_nodes"]
    victim = edges.column("dst_id")[0].as_py()
    kept = nodes.filter(pa.array([v != victim for v in nodes.column("node_id").to_pylist()]))
    test = builtin_test("cpg_edges", "no_dangling_edges", nodes="cpg_nodes")
    outcome = _outcome(test, {"cpg_edges": edges, "cpg_nodes": kept})
    assert not outcome.passed
    pointing = sum(
        (e["src_id"] == victim) + (e["dst_id"] == victim)
        for e in edges.select(["src_id", "dst_id"]).to_pylist()
    )
    details = outcome.metadata["details"].data
    assert details["missing_nodes"] == 1 and details["dangling_edges"] == pointing
    assert details["missing_sample"][0]["node_id"] == victim
    assert outcome.metadata["failing_rows"] == pointing
    assert victim in outcome.metadata["sample"].md_str
    assert outcome.description is not None
    assert outcome.description.startswith("FAIL  cpg_edges.no_dangling_edges")
    assert "missing node" in outcome.description


# -- translated outcomes on small tables ------------------------------------------------------------


def test_a_failed_data_check_describes_its_failing_rows() -> None:
    """The description is what the test found (as `cpg test` prints it), the metadata a
    failing row count, the sample as a table and the details as JSON: no count Dagster
    would plot as if it meant something."""
    table = pa.table({"a": [1, 1, 2, None, None], "b": ["x", "x", "y", None, None], "v": range(5)})
    unique = DeclaredTest(name=KEYS_UNIQUE, kind="unique", columns=("a", "b"))
    outcome = _outcome(declared_test("t", unique), {"t": table})
    assert not outcome.passed
    assert outcome.description == (
        "FAIL  t.keys_unique [unique, severity error]\n"
        "      2 key value(s) repeat\n"
        '      {"a":1,"b":"x","occurrences":2}\n'
        '      {"a":null,"b":null,"occurrences":2}'
    )
    assert outcome.metadata["failing_rows"] == 2
    assert outcome.metadata["details"].data == {
        "rows": 5,
        "distinct_keys": 3,
        "duplicate_keys": 2,
        "duplicate_rows": 4,
    }
    assert outcome.metadata["sample"].md_str.splitlines() == [
        "| a | b | occurrences |",
        "|---|---|---|",
        "| 1 | x | 2 |",
        "| null | null | 2 |",
    ]
    numeric = {
        k
        for k, v in outcome.metadata.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    assert numeric == {"failing_rows"}  # booleans (`cached`) are not plotted
    unique_ok = DeclaredTest(name=KEYS_UNIQUE, kind="unique", columns=("a", "b", "v"))
    assert _outcome(declared_test("t", unique_ok), {"t": table}).passed


def test_a_check_that_cannot_be_evaluated_fails_and_says_why() -> None:
    table = pa.table({"a": [1]})
    test = declared_test("t", DeclaredTest(name="n", kind="not_null", columns=("nope",)))
    outcome = _outcome(test, {"t": table})
    assert not outcome.passed
    assert outcome.metadata["error"].startswith("the stored table 't' lacks column(s) nope")
    assert "could not be evaluated" in (outcome.description or "")
    warn = declared_test(
        "t", DeclaredTest(name="w", kind="not_null", columns=("a",), severity="warn")
    )
    assert _outcome(warn, {"t": pa.table({"a": [None, 1]})}).severity == dg.AssetCheckSeverity.WARN


def test_empty() -> None:
    test = builtin_test("t", "is_empty")
    assert _outcome(test, {"t": pa.table({"x": pa.array([], pa.int64())})}).passed
    outcome = _outcome(test, {"t": pa.table({"x": [1, 2], "d": pa.array([0, 1], pa.date32())})})
    assert not outcome.passed
    assert outcome.metadata["sample"].md_str.splitlines()[2:] == [
        "| 1 | 1970-01-01 |",
        "| 2 | 1970-01-02 |",
    ]
