"""Everything admitted can be built and stored, and nothing stored breaks reading the store.

Real compiles, real builds into Delta, real `cpg query` (issue 17): output types the store
cannot hold are compile problems of that view; the ones it can hold after a documented
lossless conversion build and read back; a source column the store could not hold matters
only to the views that output it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cpg_core.cli import main as cpg_main
from cpg_core.pipeline import build_project
from cpg_core.plan import compile_plan
from cpg_core.problems import Problem
from cpg_core.project import load_project
from cpg_core.store.delta_store import DeltaStore
from tests.plan.projects import write_project


def _problems(plan_problems: Iterable[Problem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in plan_problems:
        found.setdefault(p.view, []).append(p.code.value)
    return found


def test_unstorable_outputs_and_duplicate_names_are_compile_problems(tmp_path: Path) -> None:
    views = {
        "wide_decimal": "select cast(amount as decimal(40, 2)) as big from orders",
        "same_names": "select * from (select 1 as e) a, (select 2 as e) b",
        "same_names_any_case": 'select 1 as "Total", 2 as total',
        "fine": "select order_id from orders",
    }
    plan = compile_plan(load_project(write_project(tmp_path, views)), cache=False)
    assert plan.admitted == ("fine",)
    problems = {p.view: p for p in plan.problems}
    wide = problems["wide_decimal"]
    assert (wide.code.value, wide.column, wide.line, wide.col) == ("unstorable_type", "big", 1, 42)
    assert wide.hint == "cast it to DECIMAL(38, 2) or to TEXT"
    same = problems["same_names"]
    assert same.code.value == "duplicate_column"
    assert "1 'e' (a.e) and 2 'e' (b.e)" in same.message and same.line == 1
    assert problems["same_names_any_case"].code.value == "duplicate_column"


CONVERTED = {
    "intervals": "select interval '1 month 2 days 3 nanoseconds' as i",
    "durations": "select arrow_cast(90, 'Duration(Second)') as d",
    "times": "select arrow_cast(1000, 'Time64(Nanosecond)') as t, "
    "arrow_cast(arrow_cast(7, 'Int32'), 'Time32(Millisecond)') as t32",
    "small_wide_decimal": "select cast(1.5 as decimal(30, 2)) as x, "
    "arrow_cast(cast(2 as decimal(10, 1)), 'Decimal256(20, 1)') as y",
    "far_dates": "select to_date(19266320) as d, 1 as n",
    "nanos": "select to_timestamp_nanos(1000001999) as ts",
    "row_numbers": "select order_id, row_number() over (order by order_id) as rn from orders",
}


def test_converted_outputs_build_read_back_and_keep_the_store_readable(tmp_path: Path) -> None:
    project = load_project(
        write_project(tmp_path, {**CONVERTED, "downstream": "select d + 1 as d1 from durations"})
    )
    run = build_project(project)
    assert run.plan.valid, [p.format() for p in run.plan.problems]
    store = DeltaStore(project.store)
    for name, task in run.plan.tasks.items():  # what the plan promised is what is stored
        assert task.output_schema is not None
        promised = [(f.name, f.type, f.metadata) for f in task.output_schema]
        assert [(f.name, f.type, f.metadata) for f in store.read(name).schema] == promised, name
    assert store.read("intervals").to_pylist() == [
        {"i": {"months": 1, "days": 2, "nanoseconds": 3}}
    ]
    durations = store.read("durations")
    assert durations.to_pylist() == [{"d": 90}]
    assert durations.schema.field("d").metadata == {b"cpg.arrow_type": b"duration[s]"}
    assert store.read("downstream").to_pylist() == [{"d1": 91}]
    times = store.read("times")
    assert times.to_pylist() == [{"t": 1000, "t32": 7}]
    assert times.schema.field("t32").metadata == {b"cpg.arrow_type": b"time32[ms]"}
    assert store.read("small_wide_decimal").schema.field("y").type == pa.decimal128(20, 1)
    assert store.read("nanos").column("ts").cast(pa.int64()).to_pylist() == [1000001]  # µs
    assert store.read("row_numbers").schema.field("rn").type == pa.int64()
    # a date Delta readers cannot parse in statistics: every table stays queryable
    runner = CliRunner()
    for name in [*CONVERTED, "downstream"]:
        result = runner.invoke(
            cpg_main,
            [
                "query",
                "--store",
                str(project.store),
                f"select count(*) as n from {name}",
                "--format",
                "json",
            ],
        )
        assert result.exit_code == 0, (name, result.output)
        assert json.loads(result.output) == {"n": 1 if name != "row_numbers" else 4}
    assert store.read("far_dates").column("d").cast(pa.int32()).to_pylist() == [19266320]


NS = pa.array([1_000_000_001, 2_000_000_000], pa.timestamp("ns"))  # sub-microsecond digits
PROBLEM_SOURCE = pa.table(
    {
        "id": pa.array([1, 2], pa.int64()),
        "ns": NS,
        "big": pa.array([2**63 + 7, 1], pa.uint64()),
        "t32": pa.array([1_000, 2_000], pa.time32("ms")),
        "t64": pa.array([5, 6], pa.time64("ns")),
        "d256": pa.array([Decimal(10) ** 39, Decimal(1)], pa.decimal256(40, 0)),
        "d256s": pa.array([Decimal("1.25"), None], pa.decimal256(20, 2)),
    }
)
PROBLEM_VIEWS = {
    "reads_id": "select id from odd",
    "filters_on_every_column": "select id from odd where big > 0 and d256 > 0 and t64 is not null "
    "and t32 is not null and ns is not null and d256s is not null",
    "reads_ns": "select id, ns from odd",
    "reads_big": "select id, big from odd",
    "reads_times": "select id, t32, t64 from odd",
    "reads_small_decimal256": "select id, d256s from odd",
    "reads_wide_decimal256": "select id, d256 from odd",
}


def test_a_problem_source_column_matters_only_to_views_that_output_it(tmp_path: Path) -> None:
    toml = write_project(
        tmp_path, PROBLEM_VIEWS, extra_toml='[sources.odd]\npath = "data/odd.parquet"\n'
    )
    pq.write_table(PROBLEM_SOURCE, tmp_path / "data" / "odd.parquet")
    project = load_project(toml)
    run = build_project(project)
    assert _problems(run.plan.problems) == {"reads_wide_decimal256": ["unstorable_type"]}
    assert run.plan.datasets["odd"].schema is not None
    assert run.plan.datasets["odd"].schema.field("big").type == pa.decimal128(20, 0)
    tables = {n: DeltaStore(project.store).read(n) for n in run.result.tables}
    assert sorted(tables) == sorted(set(PROBLEM_VIEWS) - {"reads_wide_decimal256"})
    assert sorted(tables["reads_id"].column("id").to_pylist()) == [1, 2]
    assert tables["filters_on_every_column"].num_rows == 1
    assert sorted(tables["reads_big"].column("big").to_pylist()) == [Decimal(1), Decimal(2**63 + 7)]
    ns = sorted(tables["reads_ns"].column("ns").cast(pa.int64()).to_pylist())
    assert ns == [1_000_000, 2_000_000]  # truncated to microseconds, like Delta Lake's writer
    assert sorted(tables["reads_times"].column("t64").to_pylist()) == [5, 6]
    assert tables["reads_small_decimal256"].schema.field("d256s").type == pa.decimal128(20, 2)


def test_an_output_too_wide_for_the_store_is_named_with_its_hint(tmp_path: Path) -> None:
    toml = write_project(
        tmp_path,
        {"v": "select id, d256 from odd"},
        extra_toml='[sources.odd]\npath = "data/odd.parquet"\n',
    )
    pq.write_table(PROBLEM_SOURCE, tmp_path / "data" / "odd.parquet")
    plan = compile_plan(load_project(toml), cache=False)
    (problem,) = plan.problems
    assert problem.format() == (
        "views/v.sql:1:12: v: [unstorable_type] output column 'd256': type decimal256(40, 0) "
        "holds 40 digits; Delta Lake decimals hold at most 38 (cast it to DECIMAL(38, 0) or to TEXT)"
    )


@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_each_converted_output_compiles_to_its_stored_schema(tmp_path: Path, name: str) -> None:
    plan = compile_plan(load_project(write_project(tmp_path, {name: CONVERTED[name]})), cache=False)
    schema = plan.tasks[name].output_schema
    assert plan.tasks[name].admitted and schema is not None
    for field in schema:
        assert not pa.types.is_interval(field.type) and not pa.types.is_duration(field.type)
        assert not pa.types.is_time(field.type) and not pa.types.is_decimal256(field.type)
        assert not pa.types.is_unsigned_integer(field.type)
        if pa.types.is_timestamp(field.type):
            assert field.type.unit == "us"
