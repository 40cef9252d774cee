"""The day-two loop through a real `dg dev` and its daemon, over GraphQL (issue 14).

A copy of the fixture repository is built once (`day_two` in tests/dagster/webserver.py), its
sensors looking every 5 s, every run's Delta writes held back (tests/dagster/
held_back_location.py) so changed tables commit after unchanged ones finished: the race that
failed these runs happens every time. Then, as a user would: edit a `.py` file and turn the
change sensor on — its tick launches a run that succeeds and reads well; turn automation on and
edit again — the observer notices, automation launches a run, it succeeds, nobody clicked.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cpg_dagster.assets import RUN_ID_TAG
from cpg_dagster.definitions import AUTOMATION_SENSOR_NAME
from cpg_dagster.sensors import OBSERVER_NAME, SENSOR_NAME
from tests.dagster.webserver import DagsterDev, DayTwo

pytest_plugins = ["tests.dagster.webserver"]
pytestmark = pytest.mark.slow


def edit(repo: Path, function: str) -> None:
    path = repo / "app" / "core.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(f"{text}\n\ndef {function}():\n    return 1\n", encoding="utf-8")


def settle(server: DagsterDev, sensor: str, timeout_s: float = 120.0) -> set[str]:
    """Wait for the sensor's first finished tick and every run it launched; the runs known."""
    deadline = time.monotonic() + timeout_s
    while not [t for t in server.ticks(sensor) if t.status != "STARTED"]:
        assert time.monotonic() < deadline, f"{sensor} did not tick within {timeout_s:.0f} s"
        time.sleep(2.0)
    for run in server.runs().values():
        server.wait_for_run(run.run_id, check=False)
    return set(server.runs())


def test_an_edit_then_the_change_sensor_launches_a_run_that_succeeds(day_two: DayTwo) -> None:
    server = day_two.server
    known = set(server.runs())
    edit(day_two.repo, "edited_before_the_sensor_was_on")
    server.start_sensor(SENSOR_NAME)  # turned on after the edit: it must still request it
    try:
        run = server.wait_for_new_run(known)
    finally:
        server.stop_sensor(SENSOR_NAME)
    assert run.status == "SUCCESS"
    assert run.tags["cpg/trigger"] == "change_sensor"
    assert run.tags[RUN_ID_TAG]  # the Dagster run names cpg's run
    assert [t.run_ids for t in server.ticks(SENSOR_NAME) if t.run_ids] == [(run.run_id,)]
    nodes = server.asset_nodes()
    for name in ("files", "defs", "cpg_nodes", "cpg_edges"):
        assert nodes[name].latest_run == run.run_id, name
    messages = server.run_messages(run.run_id)
    assert any(m.startswith("view cpg_nodes: built, ") for m in messages), messages
    assert any(m.startswith("evidence defs: built, ") for m in messages)
    # the race really happened: some tables were rewritten (late), others not (at once)
    assert any(m.startswith("view ") and ": unchanged, " in m for m in messages), messages
    [files] = server.materializations("files", limit=1)
    assert files.metadata["cpg.outcome"] == "built"


def test_observer_and_automation_rebuild_an_edit_with_nobody_clicking(day_two: DayTwo) -> None:
    server = day_two.server
    server.start_sensor(AUTOMATION_SENSOR_NAME)
    try:
        known = settle(server, AUTOMATION_SENSOR_NAME)
        edit(day_two.repo, "edited_for_automation")
        run = server.wait_for_new_run(known, timeout_s=300)
    finally:
        server.stop_sensor(AUTOMATION_SENSOR_NAME)
    assert run.status == "SUCCESS"
    observed = [t for t in server.ticks(OBSERVER_NAME) if "observed a new" in (t.skip_reason or "")]
    assert observed, server.ticks(OBSERVER_NAME)[:5]
    nodes = server.asset_nodes()
    for name in ("files", "defs", "cpg_nodes"):
        assert nodes[name].latest_run == run.run_id, name
