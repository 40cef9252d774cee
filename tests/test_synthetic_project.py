"""The benchmark's synthetic project is only worth measuring if it is real: deterministic,
parseable by sqlglot, and executable by DataFusion with exactly the promised schemas."""

from __future__ import annotations

import json
from pathlib import Path

import datafusion
import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema

from tests.synthetic_project import SyntheticProject, generate_project, sql_type_of

N_VIEWS = 30


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> SyntheticProject:
    """One small project shared by the tests (generation is the slow part)."""
    return generate_project(tmp_path_factory.mktemp("synthetic"), N_VIEWS, seed=7)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(project: SyntheticProject, tmp_path: Path) -> None:
    again = generate_project(tmp_path / "again", N_VIEWS, seed=7)
    assert _files(again.root) == _files(project.root)
    other = generate_project(tmp_path / "other", N_VIEWS, seed=8)
    assert _files(other.root) != _files(project.root)


def test_layout_and_shape(project: SyntheticProject) -> None:
    root = project.root
    doc = json.loads((root / "_schemas.json").read_text(encoding="utf-8"))
    assert doc["views"] == list(project.views)
    assert set(doc["tables"]) == {*project.sources, *project.views}
    assert len(project.views) == N_VIEWS
    assert len(project.layers) >= 5
    toml = (root / "cpg.toml").read_text(encoding="utf-8")
    assert 'views = ["views"]' in toml
    assert "include_cpg = false" in toml
    for src in project.sources:
        assert f'[sources.{src}]\npath = "sources/{src}.parquet"' in toml
        assert project.source_path(src).is_file()
    assert sorted(p.stem for p in (root / "views").glob("*.sql")) == sorted(project.views)
    for view in project.views:
        assert 10 <= len(project.schemas[view]) <= 20
        assert 2 <= len(project.upstreams[view]) <= 3
    # Every view after the first layer reads the layer just below it: many generations.
    for below, layer in zip(project.layers, project.layers[1:], strict=False):
        assert all(set(project.upstreams[v]) & set(below) for v in layer)


def test_every_view_parses_and_qualifies(project: SyntheticProject) -> None:
    schema = MappingSchema(
        {t: dict(cols) for t, cols in project.schemas.items()}, dialect="postgres"
    )
    for view in project.views:
        sql = project.view_path(view).read_text(encoding="utf-8")
        ast = sqlglot.parse_one(sql, read="postgres")
        assert ast.find(exp.CTE) is not None, view
        assert ast.find(exp.Window) is not None, view
        assert ast.find(exp.Join) is not None, view
        assert not any(e.is_star for s in ast.find_all(exp.Select) for e in s.expressions), view
        tables = {
            source.name
            for scope in traverse_scope(ast)
            for source in scope.sources.values()
            if isinstance(source, exp.Table)
        }
        assert tables == set(project.upstreams[view]), view
        qualify(ast, schema=schema, dialect="postgres", validate_qualify_columns=True)


def test_every_view_executes_with_the_promised_schema(project: SyntheticProject) -> None:
    promised = json.loads((project.root / "_schemas.json").read_text(encoding="utf-8"))["tables"]
    results: dict[str, pa.Table] = {}
    for src in project.sources:
        ctx = datafusion.SessionContext()
        ctx.register_parquet(src, str(project.source_path(src)))
        results[src] = ctx.sql(f"SELECT * FROM {src}").to_arrow_table()
    for view in project.views:  # topological order
        ctx = datafusion.SessionContext()
        for upstream in project.upstreams[view]:
            ctx.from_arrow(results[upstream], name=upstream)
        out = ctx.sql(project.view_path(view).read_text(encoding="utf-8")).to_arrow_table()
        got = {f.name: sql_type_of(f.type) for f in out.schema}
        assert list(got) == list(promised[view]), view
        assert got == promised[view], view
        row_ids = out.column("row_id")
        assert row_ids.null_count == 0
        assert len(row_ids.unique()) == out.num_rows, f"{view}: @keys row_id is not unique"
        results[view] = out
    assert all(results[v].num_rows > 0 for v in project.layers[-1])


def test_declared_tests_option_adds_only_test_lines(
    project: SyntheticProject, tmp_path: Path
) -> None:
    from cpg_core.plan import compile_plan
    from cpg_core.plan.planned_tests import planned_tests
    from cpg_core.project import load_project

    tested = generate_project(tmp_path / "tested", N_VIEWS, seed=7, tests_per_view=3)
    for name in project.views:
        plain = project.view_path(name).read_text(encoding="utf-8")
        with_tests = tested.view_path(name).read_text(encoding="utf-8")
        extra = [line for line in with_tests.splitlines() if line.startswith("-- @test ")]
        assert len(extra) == 3
        assert [line for line in with_tests.splitlines() if line not in extra] == (
            plain.splitlines()
        )
    plan = compile_plan(load_project(tested.project_file), cache=False)
    assert plan.problems == ()
    declared = [t for t in planned_tests(plan) if t.name != "keys_unique"]
    assert len(declared) == 3 * N_VIEWS
    assert {t.kind for t in declared} == {"not_null", "row_count", "relationships"}
