"""Order, signature and fingerprints do not depend on input order, runs or PYTHONHASHSEED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from cpg_core.views.loader import view_from_text
from tests.plan.projects import compile_views, write_project

_LAYERED = {
    "base": "select order_id, customer_id, amount, status from orders",
    "paid": "select order_id, customer_id, amount from base where status = 'paid'",
    "per_customer": "select customer_id, sum(amount) as total, count(*) as n from paid group by customer_id",
    "named": "select c.name, p.total from per_customer p join customers c using (customer_id)",
    "void": "select order_id from base where status = 'void'",
    "report": "select n.name, n.total, (select count(*) from void) as voids from named n",
}

_SCRIPT = """
import json, sys
from cpg_core.plan import compile_plan
from cpg_core.project import load_project
plan = compile_plan(load_project(sys.argv[1]), cache=False)
print(json.dumps({"order": plan.schedule.order, "signature": plan.signature,
                  "fingerprints": {n: t.fingerprint for n, t in plan.tasks.items()}}))
"""


def _run_with_seed(toml: Path, seed: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(toml)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout)


def test_same_plan_under_different_hash_seeds_and_runs(tmp_path: Path) -> None:
    toml = write_project(tmp_path, _LAYERED)
    results = [_run_with_seed(toml, seed) for seed in ("0", "1", "12345")]
    assert results[0] == results[1] == results[2]
    in_process = compile_plan(load_project(toml), cache=False)
    assert list(in_process.schedule.order) == results[0]["order"]
    assert in_process.signature == results[0]["signature"]


def test_same_plan_when_views_are_given_in_any_order(tmp_path: Path) -> None:
    toml = write_project(tmp_path, {})
    project = load_project(toml)
    views = [view_from_text(name, sql)[0] for name, sql in _LAYERED.items()]
    forward = compile_plan(project, views=views, cache=False)
    backward = compile_plan(project, views=views[::-1], cache=False)
    assert forward.schedule == backward.schedule
    assert forward.signature == backward.signature


def test_same_plan_when_the_project_moves(tmp_path: Path) -> None:
    one = compile_views(tmp_path / "one", _LAYERED)
    two = compile_views(tmp_path / "elsewhere" / "two", _LAYERED)
    assert one.signature == two.signature
    assert one.problems == two.problems


_BASE_SQL = (
    "select o.customer_id, sum(o.amount) as total\n"
    "from orders o join customers c on c.customer_id = o.customer_id\n"
    "where o.status = 'paid'\n"
    "group by o.customer_id"
)
_COSMETIC = [
    "SELECT o.customer_id, SUM(o.amount) AS total FROM orders o JOIN customers c "
    "ON c.customer_id = o.customer_id WHERE o.status = 'paid' GROUP BY o.customer_id",
    "-- a comment\nselect   x.customer_id,\n\tsum(x.amount) as total  /* inline */\n"
    "from orders as x join customers as y on y.customer_id = x.customer_id\n"
    "where x.status = 'paid' group by x.customer_id",
    "select ORDERS.customer_id, sum(ORDERS.amount) as total from ORDERS join CUSTOMERS "
    "on CUSTOMERS.customer_id = ORDERS.customer_id where ORDERS.status = 'paid' "
    "group by ORDERS.customer_id",
]
_SEMANTIC = [
    _BASE_SQL.replace("'paid'", "'void'"),
    _BASE_SQL.replace("sum(", "max("),
    _BASE_SQL.replace("join", "left join"),
    _BASE_SQL.replace("as total", "as amount_total"),
    _BASE_SQL.replace("sum(o.amount)", "sum(try_cast(o.amount as bigint))"),
    _BASE_SQL.replace("sum(o.amount)", "sum(cast(o.amount as bigint))"),
]


def _fingerprint(tmp_path: Path, sql: str) -> str:
    plan = compile_views(tmp_path, {"v": sql})
    assert plan.valid, [p.format() for p in plan.problems]
    return plan.tasks["v"].fingerprint


def test_fingerprint_ignores_cosmetic_edits_and_sees_semantic_ones(tmp_path: Path) -> None:
    base = _fingerprint(tmp_path / "base", _BASE_SQL)
    for i, sql in enumerate(_COSMETIC):
        assert _fingerprint(tmp_path / f"c{i}", sql) == base, sql
    semantic = {_fingerprint(tmp_path / f"s{i}", sql) for i, sql in enumerate(_SEMANTIC)}
    assert base not in semantic
    assert len(semantic) == len(_SEMANTIC), "two different edits collided"


_WS = st.sampled_from([" ", "  ", "\n", "\t", " \n  "])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(_WS, min_size=8, max_size=8),
    st.sampled_from(["o", "ord", "t1", "orders_alias"]),
    st.booleans(),
    st.sampled_from(["", "-- note\n", "/* c */ "]),
)
def test_fingerprint_invariant_under_generated_cosmetic_edits(
    tmp_path: Path, spaces: list[str], alias: str, upper: bool, comment: str
) -> None:
    words = [
        "select",
        f"{alias}.status,",
        "count(*) as n",
        "from",
        f"orders {alias}",
        "group",
        "by",
        f"{alias}.status",
    ]
    if upper:
        words = [w.upper() if w in ("select", "from", "group", "by") else w for w in words]
    sql = comment + "".join(word + space for word, space in zip(words, spaces, strict=True))
    reference = "select status, count(*) as n from orders group by status"
    target = tmp_path / f"h{abs(hash((tuple(spaces), alias, upper, comment)))}"
    plan = compile_views(target, {"v": sql, "ref": reference})
    assert plan.valid, [p.format() for p in plan.problems]
    assert plan.tasks["v"].fingerprint == plan.tasks["ref"].fingerprint


def test_inline_view_fingerprint_folds_into_its_readers(tmp_path: Path) -> None:
    inline = "-- @materialize: inline\nselect order_id, amount from orders where status = 'paid'"
    reader = "select sum(amount) as total from paid"
    before = compile_views(tmp_path / "a", {"paid": inline, "total": reader})
    after = compile_views(
        tmp_path / "b", {"paid": inline.replace("'paid'", "'new'"), "total": reader}
    )
    assert before.tasks["total"].fingerprint != after.tasks["total"].fingerprint
    table = inline.replace("inline", "table")
    stored_before = compile_views(tmp_path / "c", {"paid": table, "total": reader})
    stored_after = compile_views(
        tmp_path / "d", {"paid": table.replace("'paid'", "'new'"), "total": reader}
    )
    # A persisted upstream does not change its reader's code; its data version does.
    assert stored_before.tasks["total"].fingerprint == stored_after.tasks["total"].fingerprint
