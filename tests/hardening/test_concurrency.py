"""Two builds on one store at the same time: both end well, or one fails saying the store is busy.

Real `cpg build` processes (the console script) and real Dagster runs race on one store. After
every race: each table is readable at every Delta version, the data version recorded in its log
equals the content hash of the rows read back, the next build executes and writes nothing, and
the tables equal those of a clean build. Readers (`cpg query` / `cpg status`) racing a build only
ever see a committed version of each table.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE
from typing import Any

import dagster as dg
import pytest

from cpg_core.plan import compile_plan
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.errors import StoreError
from cpg_core.store.events import read_events
from cpg_core.store.lock import TIMEOUT_ENV, store_lock
from cpg_dagster.definitions import cpg_definitions, resource_for
from cpg_dagster.resource import CpgResource
from tests.hardening.races import (
    CHILD,
    CPG,
    EXTRA_MODULE,
    Outcome,
    assert_ended_well,
    assert_settled,
    build_in_process,
    finish,
    project_for,
    start_build,
    store_contents,
)
from tests.paths import FIXTURE_REPO, REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clean_fixture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Data versions of a clean, undisturbed build of the fixture repository."""
    store = tmp_path_factory.mktemp("clean") / "store"
    build_in_process(FIXTURE_REPO, store)
    return store_contents(store)


def assert_serialized(outcomes: Sequence[Outcome]) -> None:
    """Two successful builds of a fresh store: one built and wrote every view, the other none."""
    assert [o.returncode for o in outcomes] == [0, 0], [o.stderr[-2000:] for o in outcomes]
    views = {len(o.manifest["outputs"]) for o in outcomes if o.manifest is not None}
    assert len(views) == 1 and min(views) > 0
    executed = sorted(len(o.executed) for o in outcomes)
    written = sorted(len(o.written) for o in outcomes)
    assert executed == [0, *views] and written == [0, *views], (executed, written)


def finished_runs(store: Path) -> set[str]:
    """Run ids with a `run_finish` event in the store's event log."""
    events = read_events(DeltaStore(store)).to_pylist()
    return {e["run_id"] for e in events if e["event"] == "run_finish"}


def succeeded(outcomes: Sequence[Outcome]) -> set[str]:
    return {o.manifest["run_id"] for o in outcomes if o.manifest is not None}


def one_version_each(store: Path, names: Sequence[str]) -> set[int]:
    delta = DeltaStore(store)
    return {len(delta.versions(n)) for n in names}


# ------------------------------------------------------------------------------ cpg build CLI


def test_two_builds_started_together_both_succeed_one_after_the_other(
    tmp_path: Path, clean_fixture: dict[str, str]
) -> None:
    store = tmp_path / "store"
    builds = [start_build(FIXTURE_REPO, store, tmp_path / f"cwd{i}") for i in range(2)]
    outcomes = [finish(b) for b in builds]
    # the default wait (30 s) outlasts a fixture build: the second waits, then finds it all built
    assert_serialized(outcomes)
    assert finished_runs(store) == succeeded(outcomes)  # both runs' events were recorded
    assert one_version_each(store, list(clean_fixture)) == {1}  # the later build wrote nothing
    assert_settled(store, FIXTURE_REPO, clean_fixture)


# One offset in CI (each race is ~30 s of two real builds); tests/hardening/concurrency_stress.py
# races many seeded random offsets.
@pytest.mark.parametrize("offset_s", [1.5])
def test_staggered_builds_both_succeed(
    tmp_path: Path, clean_fixture: dict[str, str], offset_s: float
) -> None:
    store = tmp_path / "store"
    first = start_build(FIXTURE_REPO, store, tmp_path / "cwd0")
    time.sleep(offset_s)
    second = start_build(FIXTURE_REPO, store, tmp_path / "cwd1")
    outcomes = [finish(first), finish(second)]
    assert_serialized(outcomes)
    assert one_version_each(store, list(clean_fixture)) == {1}
    assert_settled(store, FIXTURE_REPO, clean_fixture)


def test_fail_fast_race_ends_well(tmp_path: Path, clean_fixture: dict[str, str]) -> None:
    """With no wait at all, a build that finds the store held fails at once, exit 2, and
    nothing of it is in the store."""
    store = tmp_path / "store"
    env = {TIMEOUT_ENV: "0"}
    builds = [start_build(FIXTURE_REPO, store, tmp_path / f"cwd{i}", env) for i in range(2)]
    outcomes = [finish(b) for b in builds]
    assert_ended_well(outcomes)
    for outcome in outcomes:
        if outcome.returncode == 2:
            assert "gave up after waiting 0 s" in outcome.stderr
    assert one_version_each(store, list(clean_fixture)) == {1}
    assert finished_runs(store) == succeeded(outcomes)
    assert_settled(store, FIXTURE_REPO, clean_fixture)


def test_a_build_on_a_held_store_fails_clearly_and_changes_nothing(
    tmp_path: Path, fixture_copy: Path
) -> None:
    repo = fixture_copy
    store = tmp_path / "store"
    build_in_process(repo, store)
    before = store_contents(store)
    (repo / "app" / "added.py").write_text(EXTRA_MODULE, encoding="utf-8")
    holder = subprocess.Popen(
        [*CHILD, "hold", str(store / ".lock"), "holder-of-the-test"],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        outcome = finish(start_build(repo, store, tmp_path / "cwd", {TIMEOUT_ENV: "1.5"}))
        waited = time.monotonic() - started
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert outcome.returncode == 2, outcome.stderr[-3000:]
    message = " ".join(outcome.stderr.split())  # rich wraps long lines
    assert f"store is busy: {store} is locked by pid {holder.pid}" in message
    assert "(holder-of-the-test) since" in message
    assert "gave up after waiting 1.5 s" in message and TIMEOUT_ENV in message
    assert "waiting up to 1.5 s" in message  # it said so while it waited
    assert waited >= 1.5
    assert store_contents(store) == before  # nothing of the refused build
    # released: the same build goes through and equals a clean build of the changed repository
    assert finish(start_build(repo, store, tmp_path / "cwd")).returncode == 0
    clean = tmp_path / "clean"
    build_in_process(repo, clean)
    assert store_contents(clean) != before
    assert_settled(store, repo, store_contents(clean))


def test_readers_racing_a_build_see_only_committed_versions(
    tmp_path: Path, fixture_copy: Path
) -> None:
    repo = fixture_copy
    store = tmp_path / "store"
    build_in_process(repo, store)
    old_nodes = DeltaStore(store).read("cpg_nodes").num_rows
    (repo / "app" / "added.py").write_text(EXTRA_MODULE, encoding="utf-8")
    stop = tmp_path / "stop"
    watched = ["cpg_nodes", "cpg_edges", "defs", "files", "res_calls"]
    reader = subprocess.Popen(
        [*CHILD, "read", str(store), str(stop), *watched],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and json.loads(reader.stdout.readline()) == {"ready": True}
    build = start_build(repo, store, tmp_path / "cwd")
    query = subprocess.Popen(
        [str(CPG), "query", "--store", str(store), "--format", "json",
         "SELECT count(*) AS n FROM cpg_nodes"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    status = subprocess.Popen(
        [str(CPG), "status", "--store", str(store)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    outcome = finish(build)
    stop.touch()
    lines, _ = reader.communicate(timeout=120)
    query_out, query_err = query.communicate(timeout=120)
    status_out, status_err = status.communicate(timeout=120)
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    assert query.returncode == 0, query_err
    assert status.returncode == 0, status_err
    assert "cpg_nodes" in status_out
    delta = DeltaStore(store)
    new_nodes = delta.read("cpg_nodes").num_rows
    assert new_nodes > old_nodes
    assert json.loads(query_out) in ({"n": old_nodes}, {"n": new_nodes})
    committed = {n: {v.data_version for v in delta.versions(n)} for n in watched}
    reads = [json.loads(line) for line in lines.splitlines()]
    errors = [r for r in reads if "error" in r]
    assert not errors, errors
    table_reads = [r for r in reads if "table" in r]
    assert len(table_reads) >= len(watched)
    torn = [r for r in table_reads if r["hash"] not in committed[r["table"]]]
    assert not torn, torn  # every read saw a committed version, never a mix
    assert all(len(c) == 2 for c in committed.values())  # the build did write each of them
    clean = tmp_path / "clean"
    build_in_process(repo, clean)
    assert_settled(store, repo, store_contents(clean))


# ------------------------------------------------------------------------------------ Dagster


@dataclass(frozen=True)
class DagsterBuild:
    """The fixture repository's CPG as Dagster definitions on one store."""

    store: Path
    assets: list[dg.AssetsDefinition]
    resources: Mapping[str, Any]

    @classmethod
    def create(cls, store: Path, lock_timeout_s: float) -> DagsterBuild:
        project = project_for(FIXTURE_REPO, store)
        fields: dict[str, Any] = {
            **resource_for(project).model_dump(),
            "lock_timeout_s": lock_timeout_s,
        }
        defs = cpg_definitions(
            compile_plan(project, cache=False), project=project, resource=CpgResource(**fields)
        )
        assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        return cls(store, assets, defs.resources or {})

    @property
    def tables(self) -> set[str]:
        """The tables a run of every asset stores (views and the evidence they read)."""
        return {
            key.path[-1]
            for asset in self.assets
            for key in asset.keys
            if key != dg.AssetKey(["cpg", "plan"])
        }

    def materialize(self, instance: dg.DagsterInstance) -> dg.ExecuteInJobResult:
        return dg.materialize(
            self.assets, instance=instance, resources=self.resources, raise_on_error=False
        )

    def assert_settled(self, instance: dg.DagsterInstance, clean: Mapping[str, str]) -> None:
        """Consistent; equal to a clean build; another run executes and writes nothing."""
        contents = store_contents(self.store)
        assert set(contents) == self.tables
        assert contents == {n: clean[n] for n in self.tables}
        again = self.materialize(instance)
        assert again.success
        hits = _cache_hits(instance, again.run_id)
        assert hits and all(hits)
        assert not any(_written_evidence(instance, again.run_id))
        assert store_contents(self.store) == contents
        assert one_version_each(self.store, sorted(self.tables)) == {1}


def _dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    # Create the instance's storage once, as a deployment has it: two processes initializing
    # one fresh SQLite instance at the same moment stamp its schema twice (alembic: "more
    # than one head"), a Dagster race that has nothing to do with cpg.
    with dg.DagsterInstance.from_config(str(home)):
        pass
    return home


def _materializations(instance: dg.DagsterInstance, run_id: str) -> list[Mapping[str, Any]]:
    """The metadata of every materialization of a run."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    out = []
    for record in records:
        event = record.event_log_entry.dagster_event
        assert event is not None
        out.append(event.step_materialization_data.materialization.metadata)
    return out


def _cache_hits(instance: dg.DagsterInstance, run_id: str) -> list[bool]:
    """`cpg.cache_hit` of every view the run materialized."""
    found = _materializations(instance, run_id)
    return [bool(m["cpg.cache_hit"].value) for m in found if "cpg.cache_hit" in m]


def _written_evidence(instance: dg.DagsterInstance, run_id: str) -> list[bool]:
    """`cpg.written` of every evidence table the run materialized."""
    found = _materializations(instance, run_id)
    return [bool(m["cpg.written"].value) for m in found if "cpg.written" in m]


def _log_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every message and error of a run's event log, as one string."""
    parts = []
    for entry in instance.all_logs(run_id):
        parts.append(entry.user_message or "")
        event = entry.dagster_event
        if event is not None and event.is_step_failure:
            error = event.step_failure_data.error
            if error is not None:
                parts.append(error.to_string())
    return "\n".join(parts)


def _assert_one_built_one_reused(hits: Sequence[list[bool]], views: int) -> None:
    """Serialized by the store lock: one run executed every view, the other none."""
    assert sorted((all(h), any(h)) for h in hits) == [(False, False), (True, True)], hits
    assert [len(h) for h in hits] == [views, views]


# Two runs in two *threads* of one process are not tested: Dagster 1.13 itself deadlocks there
# (each in-process run calls `logging.config.dictConfig` while the other run's event handler
# holds a handler lock: cpython#96727). Dagster launches every run in its own process.
def test_two_dagster_runs_in_two_processes_both_succeed(
    tmp_path: Path, clean_fixture: dict[str, str]
) -> None:
    build = DagsterBuild.create(tmp_path / "store", 60)
    home = _dagster_home(tmp_path)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = [*CHILD, "dagster", str(build.store), str(FIXTURE_REPO), "60"]
    children = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=PIPE, stderr=PIPE, text=True)
        for _ in range(2)
    ]
    reports = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["success"] for r in reports] == [True, True]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for report in reports:
            run = instance.get_run_by_id(report["run_id"])
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        hits = [_cache_hits(instance, r["run_id"]) for r in reports]
        _assert_one_built_one_reused(hits, len(build.tables & set(_views())))
        build.assert_settled(instance, clean_fixture)


def _views() -> set[str]:
    plan = compile_plan(Project.from_views([], include_cpg=True), cache=False)
    return {n for n, t in plan.tasks.items() if t.admitted and t.view.materialize != "inline"}


def test_a_dagster_run_on_a_held_store_fails_with_the_busy_message(
    tmp_path: Path, clean_fixture: dict[str, str]
) -> None:
    build = DagsterBuild.create(tmp_path / "store", 0.5)
    holder = subprocess.Popen(
        [*CHILD, "hold", str(build.store / ".lock"), "another build"],
        cwd=REPO_ROOT,
        stdin=PIPE,
        stdout=PIPE,
        text=True,
    )
    with dg.instance_for_test() as instance:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            busy = build.materialize(instance)
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=60)
        assert not busy.success
        run = instance.get_run_by_id(busy.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        text = _log_text(instance, busy.run_id)
        store = build.store.resolve()
        assert f"cpg build did not start: store is busy: {store} is locked by" in text
        assert f"pid {holder.pid}" in text and "(another build)" in text
        assert "gave up after waiting 0.5 s" in text
        assert not busy.get_asset_materialization_events()
        assert DeltaStore(store).names() == []  # nothing was extracted or written
        assert build.materialize(instance).success  # released: the next run goes through
        build.assert_settled(instance, clean_fixture)


def test_an_unusable_lock_timeout_setting_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "soon")
    expected = f"{TIMEOUT_ENV} must be a number of seconds >= 0, not 'soon'"
    with pytest.raises(StoreError, match=expected), store_lock(tmp_path / ".lock", "t", 1.0):
        pass
    monkeypatch.setenv(TIMEOUT_ENV, "-1")
    with pytest.raises(StoreError, match="not '-1'"), store_lock(tmp_path / ".lock", "t", 1.0):
        pass
