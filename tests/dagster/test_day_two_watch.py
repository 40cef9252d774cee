"""Day two in real Dagster: the repository is watched by Dagster itself (issue 14, item 2).

The observer sensor records the repository's version as it changes (no run), so the evidence
turns stale and `cpg_automation` requests it with nobody clicking Observe; evidence
materializations record the repository version they were extracted from (fresh after the first
run, not `INITIAL`); the change sensor starts from what was last built, so turned on after an
edit it requests that edit, and for one edit it requests what automation requests. Bad input —
a repository gone between observation and run, a cursor of an older cpg — reads as a message.
Staleness is Dagster's own resolver; sensors are evaluated as the daemon does (`evaluate_tick`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor
from dagster._core.definitions.data_version import StaleStatus
from dagster._core.definitions.observe import observe
from dagster._core.definitions.sensor_definition import SensorExecutionData

from cpg_core.plan import compile_plan
from cpg_core.project import load_project, open_project
from cpg_dagster.definitions import AUTOMATION_SENSOR_NAME, cpg_definitions
from cpg_dagster.repository import repo_version
from cpg_dagster.resource import CpgResource
from cpg_dagster.sensors import OBSERVER_NAME, SENSOR_NAME
from tests.dagster.projects import materialize_defs
from tests.dagster.rebuilds import cpg_defs, failures, stale_status
from tests.paths import copy_fixture_repo
from tests.plan.projects import write_project

REPO = dg.AssetKey(["cpg", "repo"])
VIEWS = {
    "a": "select order_id, customer_id, amount from orders",
    "b": "select customer_id, sum(amount) as total from a group by customer_id",
    "c": "select count(*) as n from b",
    "other": "select name from customers",
}


def tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None = None
) -> SensorExecutionData:
    """One tick of sensor `name` as the daemon runs it, its asset events recorded as the
    daemon records them."""
    sensor = defs.get_sensor_def(name)
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
    ) as context:
        data = sensor.evaluate_tick(context)
    for event in data.asset_events:
        instance.report_runless_asset_event(event)
    return data


def requested(data: SensorExecutionData) -> set[str]:
    return {k.to_user_string() for r in data.run_requests or [] for k in r.asset_selection or []}


def automation_requests(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: AssetDaemonCursor | None
) -> tuple[set[str], AssetDaemonCursor]:
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    keys = defs.get_repository_def().asset_graph.get_all_asset_keys()
    return {k.to_user_string() for k in keys if result.get_num_requested(k)}, result.cursor


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_fixture_repo(tmp_path / "repo")


@pytest.mark.slow
def test_observed_edits_make_evidence_stale_and_automation_and_sensor_agree(
    repo: Path, tmp_path: Path
) -> None:
    defs = cpg_defs(repo, tmp_path / "store")
    with dg.instance_for_test() as instance:
        result = materialize_defs(defs, instance)
        assert result.success, failures(result)
        version = repo_version(repo)
        [files] = [
            e.materialization
            for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey("files")
        ]
        assert (files.tags or {})["dagster/input_data_version/cpg/repo"] == version
        for name in ("files", "defs", "cpg_nodes", "cpg_edges"):  # fresh after ONE run
            assert stale_status(defs, instance, name) == StaleStatus.FRESH, name

        settled = tick(defs, instance, OBSERVER_NAME)
        assert not settled.asset_events  # the run observed this version already
        assert f"repository unchanged ({version[:24]})" == settled.skip_message
        baseline, cursor = automation_requests(defs, instance, None)
        assert baseline == set()

        core = repo / "app" / "core.py"
        core.write_text(core.read_text("utf-8") + "\n\ndef edited():\n    return 1\n", "utf-8")
        observed = tick(defs, instance, OBSERVER_NAME)
        assert [e.asset_key for e in observed.asset_events] == [REPO]
        assert "observed a new repository version" in str(observed.skip_message)
        assert stale_status(defs, instance, "files") == StaleStatus.STALE
        by_automation, cursor = automation_requests(defs, instance, cursor)
        by_sensor = requested(tick(defs, instance, SENSOR_NAME))  # turned on after the edit
        assert {"files", "defs", "cpg_nodes", "cpg_edges"} <= by_sensor
        assert by_automation == by_sensor  # one edit, one set of assets, either mechanism
        again = tick(defs, instance, OBSERVER_NAME)
        assert not again.asset_events and "unchanged" in str(again.skip_message)


def test_change_sensor_turned_on_after_a_view_edit_requests_it(tmp_path: Path) -> None:
    toml = write_project(tmp_path, VIEWS)

    def defs_now() -> dg.Definitions:
        project = load_project(toml)
        return cpg_definitions(compile_plan(project, cache=False), project=project)

    defs = defs_now()
    with dg.instance_for_test() as instance:
        assert materialize_defs(defs, instance).success
        _, cursor = automation_requests(defs, instance, None)
        (tmp_path / "views" / "b.sql").write_text(
            "select customer_id, max(amount) as total from a group by customer_id", "utf-8"
        )
        first = tick(defs, instance, SENSOR_NAME)  # no cursor: compared with the last build
        assert requested(first) == {"b", "c", "cpg/plan"}
        edited = defs_now()  # automation sees the edit once the code location reloads
        by_automation, _ = automation_requests(edited, instance, cursor)
        assert by_automation == {"b", "c", "cpg/plan"}
        # nothing built yet: the next tick does not request the same edit twice
        assert not tick(defs, instance, SENSOR_NAME, first.cursor).run_requests
        # revert, then edit again: requested again (run keys never repeat)
        (tmp_path / "views" / "b.sql").write_text(VIEWS["b"], "utf-8")
        reverted = tick(defs, instance, SENSOR_NAME, first.cursor)
        (tmp_path / "views" / "b.sql").write_text(
            "select customer_id, max(amount) as total from a group by customer_id", "utf-8"
        )
        second = tick(defs, instance, SENSOR_NAME, reverted.cursor)
        assert requested(second) == {"b", "c", "cpg/plan"}
        keys = {r.run_key for r in [*(first.run_requests or []), *(second.run_requests or [])]}
        assert len(keys) == 2


def test_a_cursor_of_an_older_cpg_is_ignored_with_a_message(tmp_path: Path) -> None:
    toml = write_project(tmp_path, VIEWS)
    project = load_project(toml)
    plan = compile_plan(project, cache=False)
    defs = cpg_definitions(plan, project=project)
    old = json.dumps({"repo": None, "fingerprints": {"a": "x"}}, sort_keys=True)  # format 1
    with dg.instance_for_test() as instance:
        assert materialize_defs(defs, instance).success
        for cursor, why in ((old, "ignored a cursor of format 1"), ("{oops", "unreadable")):
            data = tick(defs, instance, SENSOR_NAME, cursor)
            assert not data.run_requests  # compared with the last build instead: no change
            assert why in str(data.skip_message)
            assert json.loads(data.cursor or "")["format"] == 2


@pytest.mark.slow
def test_a_repository_gone_between_observation_and_run_reads_as_a_message(
    repo: Path, tmp_path: Path
) -> None:
    defs = cpg_defs(repo, tmp_path / "store")
    with dg.instance_for_test() as instance:
        assert tick(defs, instance, OBSERVER_NAME).asset_events  # observed while it was there
        shutil.rmtree(repo)
        gone = f"repository {repo} does not exist (moved or deleted?)"
        observer = tick(defs, instance, OBSERVER_NAME)
        assert observer.skip_message == f"cannot observe the repository: {gone}"
        sensor = tick(defs, instance, SENSOR_NAME)
        assert sensor.skip_message == f"cannot check for changes: {gone}"
        result = materialize_defs(defs, instance, ["files", "defs"])
        assert not result.success  # never an empty CPG reported as built
        assert not result.get_asset_materialization_events()
        [message] = failures(result)
        assert f"cpg build did not start: {gone}" in message
        sources = [a for a in defs.assets or [] if isinstance(a, dg.SourceAsset)]
        observed = observe(
            sources, instance=instance, resources=defs.resources, raise_on_error=False
        )
        assert not observed.success
        assert f"cannot observe the repository: {gone}" in failures(observed)[0]


def test_observer_interval_and_status_come_from_the_resource(repo: Path, tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path / "views_only", VIEWS))
    views_only = cpg_definitions(compile_plan(project, cache=False), project=project)
    assert OBSERVER_NAME not in {s.name for s in views_only.sensors or []}  # no repository
    defs = cpg_defs(repo, tmp_path / "store")
    observer = defs.get_sensor_def(OBSERVER_NAME)
    assert observer.minimum_interval_seconds == 60
    assert observer.default_status == dg.DefaultSensorStatus.RUNNING  # it launches no run
    assert defs.get_sensor_def(AUTOMATION_SENSOR_NAME).default_status == (
        dg.DefaultSensorStatus.STOPPED
    )
    for interval, present in ((15, True), (0, False)):
        resource = CpgResource(repo=str(repo), store=str(tmp_path), observe_interval_s=interval)
        plan = compile_plan(open_project(repo=repo, store=tmp_path), cache=False)
        defs = cpg_definitions(plan, resource=resource)
        sensors = {s.name: s for s in defs.sensors or []}
        assert (OBSERVER_NAME in sensors) is present
        if present:
            assert sensors[OBSERVER_NAME].minimum_interval_seconds == interval
        # the change sensor looks as often (every 60 s when there is no observer)
        assert sensors[SENSOR_NAME].minimum_interval_seconds == (interval or 60)
