"""The determinism audit (`tests/hardening/determinism_audit.py`) on the fixture repository.

Three real builds in separate processes (serial; parallel threads with pinned DataFusion target
partitions and one runtime thread; parallel processes), each with its own `PYTHONHASHSEED`,
store and compile cache, must give identical tables and artifact IDs; and the comparison must
catch a difference when there is one.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.hardening.determinism_audit import (
    ARTIFACT_FIELDS,
    AuditConfig,
    RunOutcome,
    compare,
    render,
    report_json,
    run_config,
)
from tests.paths import FIXTURE_REPO

pytestmark = pytest.mark.slow

CONFIGS = (
    AuditConfig("serial", hash_seed="0"),
    AuditConfig(
        "threads-tp3",
        mode="parallel",
        executor="threads",
        max_tasks=2,
        hash_seed="1",
        target_partitions=3,
        runtime_threads=1,
    ),
    AuditConfig("processes", mode="parallel", executor="processes", max_tasks=2, hash_seed="2"),
)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[RunOutcome]:
    work = tmp_path_factory.mktemp("audit")
    return [run_config(config, FIXTURE_REPO, work) for config in CONFIGS]


def test_every_configuration_gives_the_same_tables_and_artifact_ids(
    outcomes: list[RunOutcome],
) -> None:
    comparison = compare(outcomes)
    text = render(comparison, FIXTURE_REPO)
    assert comparison.identical, text
    tables = [r for r in comparison.rows if r.item.startswith("table ")]
    assert len(tables) == len(outcomes[0].tables) >= 20  # evidence and every view
    assert {r.item for r in comparison.rows} >= set(ARTIFACT_FIELDS)
    assert "IDENTICAL" in text and "DIFFERS" not in text
    # the runs really ran as configured
    manifests = [o.manifest for o in outcomes]
    assert [m["mode"] for m in manifests] == ["serial", "parallel", "parallel"]
    assert [{r["executor"] for r in m["routing"]} for m in manifests] == [
        {"main"},
        {"threads"},
        {"processes"},
    ]
    assert report_json(comparison, FIXTURE_REPO)["identical"] is True


def test_the_comparison_reports_a_changed_table_or_artifact_id(
    outcomes: list[RunOutcome],
) -> None:
    first, *rest = outcomes
    name = "cpg_nodes"
    torn = dataclasses.replace(first.tables[name], read="0" * 64)  # rows that do not match
    changed = RunOutcome(
        first.config,
        first.seconds,
        {**first.manifest, "schedule_artifact_id": "f" * 64},
        {**first.tables, name: torn},
    )
    comparison = compare([changed, *rest])
    assert not comparison.identical
    assert sorted(r.item.strip() for r in comparison.differences) == [
        f"content hash read ({name})",
        f"read == recorded ({len(first.tables)} tables)",
        "schedule_artifact_id",
    ]
    # a mismatch in every run alike is still a failure (not "the same everywhere")
    same_torn = [
        RunOutcome(o.config, o.seconds, o.manifest, {**o.tables, name: torn}) for o in outcomes
    ]
    differences = compare(same_torn).differences
    assert [r.item for r in differences] == [f"read == recorded ({len(first.tables)} tables)"]
    assert differences[0].values[0] == f"bad: {name}"
    assert "DIFFERENT:" in render(comparison, FIXTURE_REPO)
    # a table that one run lacks is a difference too
    missing = RunOutcome(first.config, first.seconds, first.manifest, {})
    assert not compare([missing, *rest]).identical
