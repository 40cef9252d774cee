"""`DataTestSession`: what a build will call after storing each view (phase B wires it in).
Fed the real tables of a real build, it gives the results `cpg test` gives over the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks.run import run_tests
from cpg_core.checks.session import DataTestSession, build_tests
from cpg_core.pipeline import ProjectRun, build_project
from cpg_core.plan import compile_plan
from tests.checks.projects import VIEWS, write_tests_project


def _decided(result: DataTestResult) -> tuple[object, ...]:
    return (
        result.id,
        result.status,
        result.failing_rows,
        result.sample,
        result.details,
        result.reads,
        result.definition_hash,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> ProjectRun:
    project = write_tests_project(tmp_path_factory.mktemp("session"), VIEWS)
    return build_project(project, plan=compile_plan(project, cache=False))


def _feed(session: DataTestSession, run: ProjectRun, names: list[str]) -> list[DataTestResult]:
    versions = {o.name: o.data_version for o in run.result.manifest.outputs}
    found: list[DataTestResult] = []
    for name in names:
        found += session.stored(name, run.result.tables[name], versions[name])
    return found


def test_a_session_fed_a_build_equals_cpg_test(run: ProjectRun, tmp_path: Path) -> None:
    plan = run.plan
    built = [n for n in plan.schedule.order if plan.tasks[n].view.persisted]
    session = DataTestSession(plan, built, store=tmp_path, use_cache=False)
    streamed = _feed(session, run, built)
    report = session.finish()
    assert sorted(r.id for r in streamed) == sorted(r.id for r in report.results)
    expected = run_tests(plan, use_cache=False)
    assert [_decided(r) for r in report.results] == [_decided(r) for r in expected.results]
    assert report.counts == expected.counts


def test_tests_run_once_every_table_they_read_is_stored(run: ProjectRun, tmp_path: Path) -> None:
    plan = run.plan
    session = DataTestSession(plan, ["orders_v", "german"], store=tmp_path, use_cache=False)
    assert {t.id for t in session.tests} >= {"orders_v.positive", "void_orders", "no_negative"}
    first = {r.id for r in _feed(session, run, ["orders_v"])}
    assert "orders_v.positive" in first and "void_orders" in first
    assert "orders_v.relationships_customer_id_german" not in first  # german is not stored yet
    assert "orders_v.relationships_customer_id_customers" in first  # a source: read from its file
    second = {r.id for r in _feed(session, run, ["german"])}
    assert second == {"orders_v.relationships_customer_id_german"}


def test_a_failed_build_leaves_errors_never_passes(run: ProjectRun, tmp_path: Path) -> None:
    plan = run.plan
    session = DataTestSession(plan, ["orders_v", "german"], store=tmp_path, use_cache=False)
    _feed(session, run, ["orders_v"])
    report = session.finish()
    waiting = {r.id: r for r in report.results if r.status == "error"}
    assert waiting["orders_v.relationships_customer_id_german"].message == (
        "not evaluated: not stored by this build: german"
    )
    assert not report.ok


def test_a_rebuild_with_unchanged_tables_reuses_results(run: ProjectRun, tmp_path: Path) -> None:
    plan = run.plan
    first = DataTestSession(plan, ["orders_v"], store=tmp_path)
    _feed(first, run, ["orders_v"])
    assert first.finish().counts.cached == 0
    again = DataTestSession(plan, ["orders_v"], store=tmp_path)
    _feed(again, run, ["orders_v"])
    report = again.finish()
    # german is neither built here nor in this store: that test is an error, never cached
    assert report.counts.errors == 1
    assert report.counts.cached == report.counts.tests - 1 > 0


def test_build_tests_selects_the_built_views_and_singular_tests_over_them(
    run: ProjectRun,
) -> None:
    ids = [t.id for t in build_tests(run.plan, ["expensive"])]
    assert ids == ["expensive.is_empty"]
    assert "void_orders" in [t.id for t in build_tests(run.plan, ["orders_v"])]
