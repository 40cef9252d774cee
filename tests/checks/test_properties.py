"""Property: for random tables and random declared tests, the evaluator agrees with the same
test written by hand as a plain SQL query (another formulation, as a dbt user would write it),
run directly in DataFusion; and tests decided together (`evaluate_all`: one shared count
query per table) agree with each test decided alone.

`CPG_PROPERTY_EXAMPLES=500 pytest tests/checks/test_properties.py` runs a longer search.
"""

from __future__ import annotations

import os
from random import Random
from unittest.mock import patch

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from datafusion import SessionContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks import in_arrow
from cpg_core.checks.batch import evaluate_all
from cpg_core.checks.evaluate import evaluate
from cpg_core.checks.in_arrow import passes_in_arrow
from cpg_core.plan.planned_tests import declared_test
from cpg_core.store.partitions import Replaced
from cpg_core.views.model import DECLARED_TEST_KINDS, DeclaredTest

EXAMPLES = int(os.environ.get("CPG_PROPERTY_EXAMPLES", "60"))
SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.float64())])
WORDS = ["x", "y", "z", "it's"]


@st.composite
def tables(draw: st.DrawFn, min_rows: int = 0) -> pa.Table:
    rows = draw(st.integers(min_value=min_rows, max_value=25))
    ints = st.one_of(st.none(), st.integers(min_value=-3, max_value=3))
    words = st.one_of(st.none(), st.sampled_from(WORDS))
    floats = st.one_of(st.none(), st.floats(min_value=-5, max_value=5, allow_nan=False))
    return pa.table(
        {
            "a": pa.array(draw(st.lists(ints, min_size=rows, max_size=rows)), pa.int64()),
            "b": pa.array(draw(st.lists(words, min_size=rows, max_size=rows)), pa.string()),
            "c": pa.array(draw(st.lists(floats, min_size=rows, max_size=rows)), pa.float64()),
        },
        schema=SCHEMA,
    )


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


@st.composite
def declared(draw: st.DrawFn) -> tuple[DeclaredTest, str]:
    """A random declared test, and the hand-written SQL whose single value is its failure count."""
    kind = draw(st.sampled_from(DECLARED_TEST_KINDS))
    column = draw(st.sampled_from(["a", "b", "c"]))
    if kind == "not_null":
        test = DeclaredTest(name="t", kind=kind, columns=(column,))
        return test, f"select count(*) - count({column}) from t"
    if kind == "unique":
        columns = tuple(draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True)))
        keys = ", ".join(columns)
        hand = f"select count(*) from (select {keys} from t group by {keys} having count(*) >= 2)"
        return DeclaredTest(name="t", kind=kind, columns=columns), hand
    if kind == "accepted_values":
        column = draw(st.sampled_from(["a", "b"]))
        pool = [-3, -2, -1, 0, 1, 2, 3] if column == "a" else WORDS
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
        listed = ", ".join(_literal(v) for v in values)
        test = DeclaredTest(
            name="t", kind=kind, columns=(column,), values=tuple(_literal(v) for v in values)
        )
        # NOT IN is NULL for a NULL value: the WHERE drops it, as accepted_values does
        return test, f"select count(*) from t where {column} not in ({listed})"
    if kind == "relationships":
        column = draw(st.sampled_from(["a", "b"]))
        test = DeclaredTest(name="t", kind=kind, columns=(column,), to_table="p", to_column=column)
        hand = (
            f"select count(*) from t left join (select distinct {column} as k from p) q "
            f"on t.{column} = q.k where t.{column} is not null and q.k is null"
        )
        return test, hand
    if kind == "row_count":
        op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
        bound = draw(st.integers(min_value=0, max_value=26))
        test = DeclaredTest(name="t", kind=kind, condition=f"row_count {op} {bound}")
        return test, f"select case when count(*) {op} {bound} then 0 else 1 end from t"
    expression = draw(
        st.sampled_from(
            [
                "a > {k}",
                "c <= {k}",
                "coalesce(a, 0) >= {k}",
                "a + 1 > {k}",
                "b = 'x' or a < {k}",
                "abs(c) < {k}",
            ]
        )
    ).format(k=draw(st.integers(min_value=-3, max_value=3)))
    test = DeclaredTest(name="t", kind=kind, condition=expression)
    # rows where it is false; NULL (unknown) holds, like a CHECK constraint
    return test, f"select count(*) from t where ({expression}) = false"


def _count(sql: str, t: pa.Table, p: pa.Table) -> int:
    ctx = SessionContext()
    ctx.from_arrow(t, name="t")
    ctx.from_arrow(p, name="p")
    (value,) = ctx.sql(sql).to_pylist()[0].values()
    return int(value)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), parent=tables(), case=declared())
def test_evaluator_agrees_with_hand_written_sql(
    table: pa.Table, parent: pa.Table, case: tuple[DeclaredTest, str]
) -> None:
    test, hand = case
    planned = declared_test("t", test)
    tables_read = {"t": table, "p": parent}
    result = evaluate(planned, {name: tables_read[name] for name in planned.reads})
    expected = _count(hand, table, parent)
    assert result.status == ("failed" if expected else "passed"), (result, hand)
    assert result.failing_rows == expected, (hand, result)
    assert len(result.sample) == min(expected, 10)
    if test.kind == "unique":
        repeated_rows = _count(
            f"select coalesce(sum(n), 0) from (select count(*) as n from t group by "
            f"{', '.join(test.columns)} having count(*) > 1)",
            table,
            parent,
        )
        assert result.details["duplicate_rows"] == repeated_rows
        assert result.details["rows"] == table.num_rows


def _decided(result: DataTestResult) -> tuple[object, ...]:
    return (result.id, result.status, result.failing_rows, result.sample, result.details)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    parent=tables(),
    cases=st.lists(declared(), min_size=1, max_size=8),
)
def test_tests_decided_together_equal_tests_decided_alone(
    table: pa.Table, parent: pa.Table, cases: list[tuple[DeclaredTest, str]]
) -> None:
    planned = [
        declared_test("t", msgspec.structs.replace(test, name=f"t{i}"))
        for i, (test, _) in enumerate(cases)
    ]
    data = {"t": table, "p": parent}
    together = evaluate_all(planned, data)
    alone = [evaluate(test, {name: data[name] for name in test.reads}) for test in planned]
    assert [_decided(r) for r in together] == [_decided(r) for r in alone]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    columns=st.lists(st.sampled_from("ab"), min_size=1, max_size=2, unique=True),
    distinct=st.booleans(),
)
def test_unique_keys_in_ascending_order_are_decided_by_the_order(
    table: pa.Table, columns: list[str], distinct: bool
) -> None:
    """A build's outputs are in canonical order, often sorted by their keys: Arrow decides a
    unique test from the order alone when each key exceeds the previous one, and the result
    equals the query's; with a repeated or null key the query decides (the same result)."""
    if distinct:
        table = table.group_by(columns, use_threads=False).aggregate([])
    table = table.sort_by([(c, "ascending") for c in columns])
    planned = declared_test("t", DeclaredTest(name="t", kind="unique", columns=tuple(columns)))
    [together] = evaluate_all([planned], {"t": table})
    alone = evaluate(planned, {"t": table})
    assert _decided(together) == _decided(alone)
    keys = table.select(columns)
    if distinct and all(c.null_count == 0 for c in keys.columns):
        assert passes_in_arrow(planned, {"t": table}) is not None
        assert together.status == "passed"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    columns=st.lists(st.sampled_from("ab"), min_size=1, max_size=2, unique=True),
    distinct=st.booleans(),
    order=st.randoms(use_true_random=False),
    chunks=st.integers(min_value=1, max_value=4),
)
def test_unique_keys_in_any_order_are_decided_by_sorting_them(
    table: pa.Table, columns: list[str], distinct: bool, order: Random, chunks: int
) -> None:
    """A partitioned output is sorted by its partition column first, so its keys ascend only in
    stretches: Arrow sorts the keys (a window of rows at a time; a tiny window here, so keys tie
    across windows) and decides the test when none repeats, with the query's result."""
    if distinct:
        table = table.group_by(columns, use_threads=False).aggregate([])
    rows = list(range(table.num_rows))
    order.shuffle(rows)
    table = table.take(pa.array(rows, pa.int64()))
    size = -(-table.num_rows // chunks) or 1
    table = pa.Table.from_batches(table.to_batches(max_chunksize=size), schema=table.schema)
    planned = declared_test("t", DeclaredTest(name="t", kind="unique", columns=tuple(columns)))
    with patch.object(in_arrow, "_WINDOW", 2):
        decided = passes_in_arrow(planned, {"t": table})
    alone = evaluate(planned, {"t": table})
    keys = table.select(columns)
    repeated = keys.group_by(columns, use_threads=False).aggregate([]).num_rows < keys.num_rows
    assert (decided is not None) == (not repeated)  # NULL key parts group together
    if decided is not None:
        assert alone.status == "passed"
        assert alone.details == decided.details


def _keys(a: list[int], b: list[str]) -> pa.Table:
    c = pa.array([None] * len(a), pa.float64())
    return pa.table({"a": pa.array(a, pa.int64()), "b": pa.array(b, pa.string()), "c": c})


_KEYS_1X_1Y, _KEYS_1Z = _keys([1, 1], ["x", "y"]), _keys([1], ["z"])


def _one_row_per_key(table: pa.Table, columns: list[str]) -> pa.Table:
    """The first row of each key (NULL parts group together, as in the test's query)."""
    numbered = table.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    first = numbered.group_by(columns, use_threads=False).aggregate([("__row", "min")])
    return table.take(first.column("__row_min").combine_chunks().sort())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old=tables(),
    new=tables(),
    columns=st.lists(st.sampled_from("ab"), min_size=1, max_size=2, unique=True),
    keep=st.randoms(use_true_random=False),
    keyed=st.booleans(),
    repeat=st.sampled_from(["none", "new", "kept"]),
)
# a new key sharing its first column with a kept key: equal to it, or not
@example(
    old=_KEYS_1X_1Y, new=_KEYS_1Z, columns=["a", "b"], keep=Random(1), keyed=True, repeat="kept"
)
@example(
    old=_KEYS_1X_1Y, new=_KEYS_1Z, columns=["a", "b"], keep=Random(1), keyed=True, repeat="none"
)
def test_a_unique_test_after_a_partial_run_checks_the_new_rows_against_the_kept_ones(
    old: pa.Table, new: pa.Table, columns: list[str], keep: Random, keyed: bool, repeat: str
) -> None:
    """A partial run keeps some rows of a table the test passed on and adds new ones: Arrow
    decides the test from the new rows and the kept rows that may share their keys, and
    decides it exactly when the whole test passes."""
    planned = declared_test("t", DeclaredTest(name="t", kind="unique", columns=tuple(columns)))
    old = _one_row_per_key(old, columns)
    assert evaluate(planned, {"t": old}).status == "passed"
    if keyed:  # new rows without NULL key parts (else most have one)
        new = new.filter((pc.field("a").is_valid()) & (pc.field("b").is_valid()))
    kept = old.filter(pa.array([keep.random() < 0.6 for _ in range(old.num_rows)], pa.bool_()))
    again = {"none": new.slice(0, 0), "new": new.slice(0, 1), "kept": kept.slice(0, 1)}[repeat]
    new = pa.concat_tables([new, again])  # `again`: a key that may repeat, drawn often
    table = pa.concat_tables([kept, new])
    keys = [table.column(c) for c in columns]
    after = in_arrow._unique_after_replace(keys, table.num_rows, kept.num_rows)
    alone = evaluate(planned, {"t": table})
    assert (after is not None) == (alone.status == "passed")
    decided = passes_in_arrow(planned, {"t": table}, Replaced("v", kept.num_rows))
    for found in (after, decided):
        if found is not None:
            assert alone.status == "passed"
            assert alone.details == found.details
