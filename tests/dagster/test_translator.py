"""CpgTranslator on real plans: the built-in CPG and a small user project with inline and invalid
views. Everything is a real Dagster object (AssetSpec, multi_asset, Definitions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._utils.tags import VALID_STRICT_TAG_VALUE_REGEX, is_valid_tag_key

from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.inline import folded_inputs, folded_lineage
from cpg_core.project import Project, load_project
from cpg_core.views.loader import package_root
from cpg_dagster.specs import asset_names, asset_specs, check_specs, planned_checks
from cpg_dagster.translator import CpgTranslator, owner_of, tag_value
from tests.dagster.projects import write_user_project
from tests.golden import check_golden
from tests.plan.projects import write_project


@pytest.fixture(scope="module")
def builtin_plan(tmp_path_factory: pytest.TempPathFactory) -> ExecutionPlan:
    root = tmp_path_factory.mktemp("builtin")
    project = Project.from_views([], store=root / "store", repo=root / "repo")
    return compile_plan(project, cache=False)


@pytest.fixture(scope="module")
def user_plan(tmp_path_factory: pytest.TempPathFactory) -> ExecutionPlan:
    root = tmp_path_factory.mktemp("user")
    return compile_plan(load_project(write_user_project(root)), cache=False)


def specs_by_name(plan: ExecutionPlan, translator: CpgTranslator) -> dict[str, dg.AssetSpec]:
    return {name: translator.get_asset_spec(plan, name) for name in asset_names(plan)}


# -- the built-in CPG plan -----------------------------------------------------------------------


def test_every_persisted_view_and_read_input_has_one_spec(builtin_plan: ExecutionPlan) -> None:
    specs = asset_specs(builtin_plan)
    keys = [s.key for s in specs]
    assert len(keys) == len(set(keys))
    persisted = {n for n, t in builtin_plan.tasks.items() if t.view.persisted}
    inline = {n for n, t in builtin_plan.tasks.items() if not t.view.persisted}
    read = {i for t in builtin_plan.tasks.values() for i in t.inputs if i not in builtin_plan.tasks}
    assert {k.path[-1] for k in keys} == persisted | read
    assert not inline & {k.path[-1] for k in keys}
    assert "extract_errors" not in read  # evidence nobody reads gets no asset
    assert all(s.skippable for s in specs)


def test_view_spec_key_deps_code_version(builtin_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    specs = specs_by_name(builtin_plan, translator)
    for name, task in builtin_plan.tasks.items():
        if not task.view.persisted:
            continue
        spec = specs[name]
        assert spec.key == dg.AssetKey([name])
        assert spec.code_version == task.fingerprint and task.fingerprint
        _inline, tables = folded_inputs(builtin_plan, name)
        assert [d.asset_key for d in spec.deps] == [dg.AssetKey([t]) for t in tables]
        assert spec.kinds == {"datafusion", "delta"}
        assert spec.group_name == "cpg"
        owners = task.view.semantic.owners if task.view.semantic else ()
        assert spec.owners == [f"team:{o}" for o in owners]
        assert spec.metadata["cpg.fingerprint"] == task.fingerprint
        assert spec.metadata["dagster/table_name"] == name
        expected_uri = (builtin_plan.project.store / "tables" / name).as_uri()
        assert spec.metadata["dagster/uri"] == expected_uri
        assert task.view.sql.strip() in (spec.description or "")


def test_inline_views_fold_into_deps_and_lineage(builtin_plan: ExecutionPlan) -> None:
    spec = CpgTranslator().get_asset_spec(builtin_plan, "cpg_edges")
    deps = {d.asset_key.path[-1] for d in spec.deps}
    assert not any(d.startswith("edge_") for d in deps)  # edge_* views are inline
    assert {"res_calls", "res_ref_bindings", "idx_def_nodes"} <= deps
    assert "edge_calls" in spec.metadata["cpg.inlined"]
    lineage = spec.metadata["dagster/column_lineage"]
    assert isinstance(lineage, dg.TableColumnLineage)
    upstream = {d.asset_key.path[-1] for deps_ in lineage.deps_by_column.values() for d in deps_}
    assert upstream <= deps  # lineage names assets only, never an inline view
    # CALLS edge ids are built from res_calls through the inline edge_calls view.
    edge_ids = {(d.asset_key.path[-1], d.column_name) for d in lineage.deps_by_column["edge_id"]}
    via_edge_calls = set(builtin_plan.tasks["edge_calls"].lineage["edge_id"])
    assert via_edge_calls == {("res_calls", "call_id"), ("res_calls", "target_id")}
    assert via_edge_calls <= edge_ids


def test_column_schema_is_the_output_schema(builtin_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    for name in asset_names(builtin_plan):
        spec = translator.get_asset_spec(builtin_plan, name)
        schema = spec.metadata["dagster/column_schema"]
        task = builtin_plan.tasks.get(name)
        arrow = task.output_schema if task else builtin_plan.datasets[name].schema
        assert arrow is not None
        assert [(c.name, c.type) for c in schema.columns] == [(f.name, str(f.type)) for f in arrow]
        assert [c.constraints.nullable for c in schema.columns] == [f.nullable for f in arrow]
    nodes = translator.get_asset_spec(builtin_plan, "cpg_nodes").metadata["dagster/column_schema"]
    assert [c.name for c in nodes.columns if c.constraints.unique] == ["node_id"]
    props = translator.get_asset_spec(builtin_plan, "cpg_props").metadata["dagster/column_schema"]
    assert props.constraints.other == ["unique (node_id, key)"]


def test_column_lineage_entries(builtin_plan: ExecutionPlan) -> None:
    spec = CpgTranslator().get_asset_spec(builtin_plan, "cpg_nodes")
    lineage = spec.metadata["dagster/column_lineage"].deps_by_column
    node_id = {(d.asset_key.path[-1], d.column_name) for d in lineage["node_id"]}
    assert {("files", "file_id"), ("defs", "def_id"), ("params", "param_id")} <= node_id
    assert ("cpg_edges", "dst_id") in node_id  # placeholders for EXTERNAL / BUILTIN targets
    for column, deps in lineage.items():
        assert column in builtin_plan.tasks["cpg_nodes"].lineage
        assert deps == sorted(deps, key=lambda d: (d.asset_key.path, d.column_name))


def test_column_lineage_is_also_a_readable_table(builtin_plan: ExecutionPlan) -> None:
    """The open-source UI does not draw `dagster/column_lineage`: the same facts as Markdown,
    one row per output column, upstream as `asset.column`."""
    translator = CpgTranslator(key_prefix="k")
    for name in ("cpg_nodes", "cpg_edges"):
        metadata = translator.get_asset_spec(builtin_plan, name).metadata
        text = metadata["cpg.column_lineage"].value
        lines = text.splitlines()
        assert lines[:2] == ["| column | from (asset.column) |", "| --- | --- |"]
        schema = builtin_plan.tasks[name].output_schema
        assert schema is not None and len(lines) == 2 + len(schema.names)
        rows = {line.split(" | ")[0].strip("| `"): line.split(" | ")[1] for line in lines[2:]}
        assert list(rows) == schema.names
        for column, deps in metadata["dagster/column_lineage"].deps_by_column.items():
            for dep in deps:
                assert f"`{dep.asset_key.to_user_string()}.{dep.column_name}`" in rows[column]
    node_id = CpgTranslator().get_asset_spec(builtin_plan, "cpg_nodes").metadata
    assert "`defs.def_id`" in node_id["cpg.column_lineage"].value


def test_code_reference_points_at_the_sql_file(builtin_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    for name, task in builtin_plan.tasks.items():
        if not task.view.persisted:
            continue
        refs = translator.get_asset_spec(builtin_plan, name).metadata["dagster/code_references"]
        (ref,) = refs.code_references
        assert isinstance(ref, dg.LocalFileCodeReference)
        path = Path(ref.file_path)
        assert path.is_file() and path == package_root() / (task.view.path or "")
        assert path.read_text(encoding="utf-8") == task.view.sql


def test_tags_and_owners_of_every_builtin_view_are_valid(builtin_plan: ExecutionPlan) -> None:
    for spec in asset_specs(builtin_plan):
        for key, value in spec.tags.items():
            assert is_valid_tag_key(key), key
            assert VALID_STRICT_TAG_VALUE_REGEX.match(value), (key, value)
        assert spec.tags["cpg/kind"] in ("view", "evidence", "source")
    layers = {s.key.path[-1]: s.tags.get("cpg/layer") for s in asset_specs(builtin_plan)}
    assert layers["check_edge_endpoint_kinds"] == "check" and layers["cpg_edges"] == "cpg"


def test_evidence_specs(builtin_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    spec = translator.get_asset_spec(builtin_plan, "defs")
    assert spec.group_name == "evidence"
    assert [d.asset_key for d in spec.deps] == [translator.get_repo_asset_key()]
    assert spec.kinds == {"python", "delta"}
    assert spec.code_version and spec.code_version.startswith("evidence-")
    assert spec.tags["cpg/kind"] == "evidence"


def test_repo_and_plan_keys_cannot_collide_with_tables(builtin_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    keys = {s.key for s in asset_specs(builtin_plan, translator)}
    assert translator.get_repo_asset_key() == dg.AssetKey(["cpg", "repo"])
    assert translator.get_plan_asset_key() == dg.AssetKey(["cpg", "plan"])
    assert translator.get_plan_asset_key() not in keys
    # Views never depend on the plan asset (one view's edit would make all of them stale).
    assert all(
        translator.get_plan_asset_key() not in {d.asset_key for d in s.deps}
        for s in asset_specs(builtin_plan, translator)
    )


def test_specs_load_as_a_real_multi_asset(builtin_plan: ExecutionPlan) -> None:
    translator = CpgTranslator(key_prefix="x")
    specs = asset_specs(builtin_plan, translator)

    @dg.multi_asset(specs=specs, check_specs=check_specs(builtin_plan, translator), can_subset=True)
    def everything():  # never run: loading validates keys, deps and check targets
        raise NotImplementedError

    repo = dg.AssetSpec(translator.get_repo_asset_key())
    defs = dg.Definitions(assets=[everything, repo])
    graph = defs.resolve_asset_graph()
    assert {s.key for s in specs} <= set(graph.get_all_asset_keys())
    cpg_nodes = graph.get(dg.AssetKey(["x", "cpg_nodes"]))
    assert dg.AssetKey(["x", "cpg_edges"]) in cpg_nodes.parent_keys


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    return value


def render_spec(plan: ExecutionPlan, spec: dg.AssetSpec) -> dict[str, Any]:
    """The spec as deterministic JSON data (store path and fingerprints abstracted)."""
    md = spec.metadata
    name = spec.key.path[-1]
    task = plan.tasks.get(name)
    code_version = spec.code_version
    if task is not None and code_version == task.fingerprint:
        code_version = "<fingerprint>"
    schema = md.get("dagster/column_schema")
    lineage = md.get("dagster/column_lineage")
    refs = md.get("dagster/code_references")
    out: dict[str, Any] = {
        "key": spec.key.to_user_string(),
        "group": spec.group_name,
        "deps": [d.asset_key.to_user_string() for d in spec.deps],
        "code_version": code_version,
        "kinds": sorted(spec.kinds),
        "owners": list(spec.owners),
        "tags": dict(sorted(spec.tags.items())),
        "skippable": spec.skippable,
        "table_name": md["dagster/table_name"],
        "storage_kind": md["dagster/storage_kind"],
        "uri": md["dagster/uri"].replace(plan.project.store.as_uri(), "<store>"),
        "columns": [
            f"{c.name} {c.type}"
            + ("" if c.constraints.nullable else " not null")
            + (" unique" if c.constraints.unique else "")
            for c in (schema.columns if schema else [])
        ],
        "constraints": list(schema.constraints.other) if schema else [],
        "lineage": {
            column: [f"{d.asset_key.to_user_string()}.{d.column_name}" for d in deps]
            for column, deps in (lineage.deps_by_column.items() if lineage else [])
        },
        "code_reference": (
            Path(refs.code_references[0].file_path).relative_to(package_root()).as_posix()
            if refs
            else None
        ),
        "cpg": {
            k: _plain(v)
            for k, v in sorted(md.items())
            if k.startswith("cpg.") and k != "cpg.column_lineage"  # the table of "lineage"
        },
    }
    if task is not None and "cpg.fingerprint" in out["cpg"]:
        out["cpg"]["cpg.fingerprint"] = "<fingerprint>"
    return out


def test_builtin_spec_metadata_golden(builtin_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    document = {
        "assets": [render_spec(builtin_plan, s) for s in asset_specs(builtin_plan, translator)],
        "checks": [
            {
                "asset": c.view,
                "name": c.name,
                "blocking": c.blocking,
                "reads": list(c.reads),
            }
            for c in planned_checks(builtin_plan, translator)
        ],
    }
    check_golden("dagster/builtin_specs.json", json.dumps(document, indent=1) + "\n")


# -- a user project: groups, inline and invalid views, sources --------------------------------------


def test_user_project_specs(user_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    specs = specs_by_name(user_plan, translator)
    assert set(specs) == {
        "orders",
        "customers",
        "customer_totals",
        "by_country",
        "broken",
        "after_broken",
        "negative_totals",
    }
    totals = specs["customer_totals"]
    # orders_clean is inline: customer_totals reads what it reads.
    assert [d.asset_key for d in totals.deps] == [
        dg.AssetKey(["customers"]),
        dg.AssetKey(["orders"]),
    ]
    assert totals.code_version == user_plan.tasks["customer_totals"].fingerprint
    assert totals.group_name == "stg" and specs["by_country"].group_name == "marts"
    assert specs["broken"].group_name == "views"
    assert totals.owners == ["alice@example.com", "team:team-x"]
    own_tags = {k: v for k, v in totals.tags.items() if not k.startswith("dagster/")}
    assert own_tags == {"cpg/kind": "view", "cpg/layer": "staging", "nightly": "", "pii": ""}
    lineage = totals.metadata["dagster/column_lineage"].deps_by_column
    assert [(d.asset_key.path, d.column_name) for d in lineage["total"]] == [(["orders"], "amount")]
    assert [(d.asset_key.path, d.column_name) for d in lineage["customer_id"]] == [
        (["customers"], "customer_id")
    ]
    assert folded_lineage(user_plan, "customer_totals")["total"] == (("orders", "amount"),)
    path = Path(totals.metadata["dagster/code_references"].code_references[0].file_path)
    assert path == user_plan.project.root / "views" / "stg" / "customer_totals.sql"
    assert path.is_file()


def test_sources_are_external_file_assets(user_plan: ExecutionPlan) -> None:
    spec = CpgTranslator().get_asset_spec(user_plan, "orders")
    assert spec.group_name == "sources" and not spec.deps
    assert spec.kinds == {"parquet"} and spec.code_version is None
    assert (
        spec.metadata["dagster/uri"]
        == (user_plan.project.root / "data" / "orders.parquet").as_uri()
    )
    assert [c.name for c in spec.metadata["dagster/column_schema"].columns][:2] == [
        "order_id",
        "customer_id",
    ]


def test_invalid_views_keep_an_asset(user_plan: ExecutionPlan) -> None:
    translator = CpgTranslator()
    for name in ("broken", "after_broken"):
        assert not user_plan.tasks[name].admitted
        spec = translator.get_asset_spec(user_plan, name)
        assert spec.code_version is None
        assert spec.tags["cpg/admitted"] == "false"
        assert "Not admitted" in (spec.description or "")
        assert "dagster/column_schema" not in spec.metadata
        assert spec.metadata["cpg.admitted"] is False and spec.metadata["cpg.problems"]
    after = translator.get_asset_spec(user_plan, "after_broken")
    assert [d.asset_key for d in after.deps] == [dg.AssetKey(["broken"])]
    names = asset_names(user_plan)
    assert names.index("broken") < names.index("after_broken")


def test_overriding_a_method_changes_the_specs(user_plan: ExecutionPlan) -> None:
    class Warehouse(CpgTranslator):
        def get_asset_key(self, name: str) -> dg.AssetKey:
            return dg.AssetKey(["warehouse", name.upper()])

        def get_group_name(self, plan: ExecutionPlan, name: str) -> str | None:
            return "all_of_it"

        def get_tags(self, plan: ExecutionPlan, name: str) -> dict[str, str]:
            return {**super().get_tags(plan, name), "team": "data"}

    specs = specs_by_name(user_plan, Warehouse())
    totals = specs["customer_totals"]
    assert totals.key == dg.AssetKey(["warehouse", "CUSTOMER_TOTALS"])
    assert dg.AssetKey(["warehouse", "ORDERS"]) in {d.asset_key for d in totals.deps}
    assert {s.group_name for s in specs.values()} == {"all_of_it"}
    assert totals.tags["team"] == "data" and totals.tags["cpg/kind"] == "view"
    lineage = totals.metadata["dagster/column_lineage"].deps_by_column
    assert lineage["total"][0].asset_key == dg.AssetKey(["warehouse", "ORDERS"])
    checks = check_specs(user_plan, Warehouse())
    assert {c.asset_key for c in checks} <= {s.key for s in specs.values()}


@pytest.mark.parametrize("fixture", ["builtin_plan", "user_plan"])
def test_key_prefix_is_applied_everywhere(fixture: str, request: pytest.FixtureRequest) -> None:
    plan: ExecutionPlan = request.getfixturevalue(fixture)
    prefix = ("team_a", "cpg")
    translator = CpgTranslator(key_prefix=prefix)

    def prefixed(key: dg.AssetKey) -> bool:
        return tuple(key.path[:2]) == prefix

    assert prefixed(translator.get_repo_asset_key()) and prefixed(translator.get_plan_asset_key())
    for spec in asset_specs(plan, translator):
        assert prefixed(spec.key)
        assert all(prefixed(d.asset_key) for d in spec.deps)
        lineage = spec.metadata.get("dagster/column_lineage")
        for deps in lineage.deps_by_column.values() if lineage else []:
            assert all(prefixed(d.asset_key) for d in deps)
    for check in check_specs(plan, translator):
        assert prefixed(check.asset_key)
        assert all(prefixed(d.asset_key) for d in check.additional_deps)


def test_group_name_setting_overrides_every_group(user_plan: ExecutionPlan) -> None:
    specs = asset_specs(user_plan, CpgTranslator(group_name="analytics"))
    assert {s.group_name for s in specs} == {"analytics"}


def test_tag_and_owner_helpers() -> None:
    assert tag_value("ok-1.2_x") == "ok-1.2_x"
    long = tag_value("a b/c" * 40)
    assert len(long) == 63 and VALID_STRICT_TAG_VALUE_REGEX.match(long)
    assert owner_of("bob@example.com") == "bob@example.com"
    assert owner_of("team:core") == "team:core"
    assert owner_of("data platform") == "team:data platform"


@pytest.mark.parametrize("fixture", ["builtin_plan", "user_plan"])
def test_plan_index_folds_like_the_executor(fixture: str, request: pytest.FixtureRequest) -> None:
    plan: ExecutionPlan = request.getfixturevalue(fixture)
    index = CpgTranslator().plan_index(plan)
    for name in plan.tasks:
        assert index.folded(name) == folded_inputs(plan, name), name


def test_column_descriptions_come_from_column_lines(tmp_path: Path) -> None:
    view = (
        "-- @keys: customer_id\n"
        "-- @column customer_id: bigint -- who paid\n"
        "-- @column total -- revenue in euros\n"
        "select customer_id, sum(amount) as total, count(*) as n from orders group by customer_id"
    )
    plan = compile_plan(load_project(write_project(tmp_path, {"per_customer": view})), cache=False)
    spec = CpgTranslator().get_asset_spec(plan, "per_customer")
    columns = spec.metadata["dagster/column_schema"].columns
    assert [(c.name, c.description) for c in columns] == [
        ("customer_id", "who paid"),
        ("total", "revenue in euros"),
        ("n", None),
    ]
    assert [c.constraints.unique for c in columns] == [True, False, False]
