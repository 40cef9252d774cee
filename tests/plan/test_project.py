"""Project files and external sources (Parquet, CSV, Delta) with their real schemas."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from deltalake import write_deltalake

from cpg_core.plan import compile_plan
from cpg_core.project import ProjectError, load_project
from tests.plan.projects import ORDERS


def _sources(root: Path) -> None:
    (root / "data").mkdir(parents=True)
    pacsv.write_csv(pa.table({"id": [1, 2], "label": ["x", "y"]}), root / "data" / "labels.csv")
    write_deltalake(str(root / "data" / "orders_delta"), ORDERS.drop_columns(["tags", "address"]))


def test_pyproject_tool_table_with_csv_and_delta_sources(tmp_path: Path) -> None:
    _sources(tmp_path)
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "joined.sql").write_text(
        "select o.order_id, l.label from orders_delta o join labels l on l.id = o.order_id"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.cpg]\nviews = ["sql"]\ninclude_cpg = false\n'
        'store = "out/store"\n'
        '[tool.cpg.sources.labels]\npath = "data/labels.csv"\n'
        '[tool.cpg.sources.orders_delta]\npath = "data/orders_delta"\n'
    )
    project = load_project(tmp_path)
    assert project.store == (tmp_path / "out" / "store").resolve()
    assert {s.name: s.format for s in project.sources} == {"labels": "csv", "orders_delta": "delta"}
    plan = compile_plan(project, cache=False)
    assert plan.valid, [p.format() for p in plan.problems]
    assert plan.datasets["orders_delta"].rows == 4
    assert plan.datasets["labels"].schema == pa.schema([("id", pa.int64()), ("label", pa.string())])
    assert plan.tasks["joined"].output_schema == pa.schema(
        [("order_id", pa.int64()), ("label", pa.string())]
    )


def test_unknown_project_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "cpg.toml").write_text('views = ["v"]\nview_dir = "oops"\n')
    with pytest.raises(ProjectError, match=r"cpg.toml: Object contains unknown field `view_dir`"):
        load_project(tmp_path / "cpg.toml")


def test_missing_project_file_and_missing_tool_table(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no cpg\.toml or pyproject\.toml"):
        load_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ProjectError, match=r"no \[tool.cpg\] table"):
        load_project(tmp_path)


def test_missing_source_and_view_folder_are_problems_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "cpg.toml").write_text(
        'views = ["nowhere"]\ninclude_cpg = false\n[sources.gone]\npath = "data/gone.parquet"\n'
    )
    plan = compile_plan(load_project(tmp_path / "cpg.toml"), cache=False)
    codes = sorted((p.code.value, p.view) for p in plan.problems)
    assert codes == [("source_error", "gone"), ("source_error", "nowhere")]


def test_view_names_must_be_identifiers_unique_and_not_shadow_inputs(tmp_path: Path) -> None:
    views = tmp_path / "views"
    (views / "sub").mkdir(parents=True)
    (views / "Bad-Name.sql").write_text("select 1 as x")
    (views / "dup.sql").write_text("select 1 as x")
    (views / "sub" / "dup.sql").write_text("select 2 as x")
    (views / "orders.sql").write_text("select 1 as x")
    (tmp_path / "data").mkdir()
    import pyarrow.parquet as pq

    pq.write_table(ORDERS, tmp_path / "data" / "orders.parquet")
    (tmp_path / "cpg.toml").write_text(
        'views = ["views"]\ninclude_cpg = false\n[sources.orders]\npath = "data/orders.parquet"\n'
    )
    plan = compile_plan(load_project(tmp_path / "cpg.toml"), cache=False)
    found = sorted((p.code.value, p.view, p.path) for p in plan.problems)
    assert found == [
        ("duplicate_view", "dup", "views/sub/dup.sql"),
        ("duplicate_view", "orders", "views/orders.sql"),
        ("invalid_name", "Bad-Name", "views/Bad-Name.sql"),
    ]
    # Which `dup` was meant is ambiguous: neither definition is admitted.
    assert not plan.tasks["dup"].admitted
