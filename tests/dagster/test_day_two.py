"""Day two in real Dagster: warm rebuilds after edits, with results in dependency order.

The bug these tests pin: a view whose content did not change reports "finished" at once, a
changed one only after its background Delta write, and a step that yields an asset before one it
reads fails (`... was yielded before its dependency ...`). On a small repository and a quiet
machine the race can hide, so every warm run here holds the store's writer back
(`slow_writes`, `tests/dagster/rebuilds.py`): changed tables commit well after the unchanged
ones have finished.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from cpg_dagster.definitions import cpg_definitions
from cpg_dagster.resource import CpgResource
from tests.dagster.rebuilds import Rebuilds, cpg_defs, delay_writes
from tests.paths import copy_fixture_repo
from tests.plan.projects import ORDERS, write_project

VIEWS = {
    "a": "select order_id, customer_id, amount from orders",
    "b": "-- @keys: customer_id\nselect customer_id, sum(amount) as total from a group by customer_id",
    "c": "select count(*) as n from b",
    "d": "select customer_id, count(*) as orders from a group by customer_id",
    "e": "select b.customer_id, b.total, d.orders from b join d using (customer_id)",
    "other": "select name from customers",
}


@pytest.fixture
def slow_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    delay_writes(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    yield copy_fixture_repo(tmp_path / "repo")


@pytest.mark.parametrize("mode", ["serial", "parallel"])
def test_cpg_rebuild_after_a_python_edit_succeeds_in_dependency_order(
    repo: Path, tmp_path: Path, mode: str, slow_writes: None
) -> None:
    defs = cpg_defs(repo, tmp_path / "store", mode)
    with dg.instance_for_test() as instance:
        runs = Rebuilds(instance)
        runs.cold(defs)
        core = repo / "app" / "core.py"
        core.write_text(
            core.read_text(encoding="utf-8") + "\n\ndef added_on_day_two():\n    return 2\n",
            encoding="utf-8",
        )
        changed = runs.warm(defs)
        # the race really happened: some tables changed (changed late), others did not
        assert changed["defs"] and changed["cpg_nodes"], changed
        assert not all(changed.values()), changed

        # a comment-only edit: evidence of that file changes (lines), most views do not
        core.write_text(core.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
        runs.warm(defs)
        # nothing changed at all: every table reused, every result still reported in order
        changed = runs.warm(defs)
        assert not any(changed.values()), changed


@pytest.mark.parametrize("mode", ["serial", "parallel"])
def test_views_rebuild_after_view_and_source_edits_succeeds_in_dependency_order(
    tmp_path: Path, mode: str, slow_writes: None
) -> None:
    toml = write_project(tmp_path, VIEWS)

    def defs_now() -> dg.Definitions:  # as a code location reload would see the project
        project = load_project(toml)
        resource = CpgResource(project_file=str(toml), mode=mode)
        plan = compile_plan(project, cache=False)
        return cpg_definitions(plan, project=project, resource=resource)

    with dg.instance_for_test() as instance:
        runs = Rebuilds(instance)
        runs.cold(defs_now())
        # a semantic edit of `d`: d and e change, a/b/c/other are unchanged and finish at once
        (tmp_path / "views" / "d.sql").write_text(
            "select customer_id, count(*) + 1 as orders from a group by customer_id",
            encoding="utf-8",
        )
        changed = runs.warm(defs_now())
        assert changed["d"] and changed["e"] and not changed["b"], changed
        # a comment-only edit of a view: same fingerprint, nothing rechanged
        path = tmp_path / "views" / "c.sql"
        path.write_text("-- counted\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
        changed = runs.warm(defs_now())
        assert not any(changed.values()), changed
        # a source changes: a new order for customer 30 → a, b, d, e change; other does not
        more = pa.concat_tables(
            [ORDERS, ORDERS.slice(3, 1).set_column(0, "order_id", pa.array([5], pa.int64()))]
        )
        pq.write_table(more, tmp_path / "data" / "orders.parquet")
        changed = runs.warm(defs_now())
        assert changed["a"] and changed["e"] and not changed["other"], changed
