"""CpgComponent on a par with dagster-dbt's (issue 14, item 5), through Dagster's own sandbox.

The scaffolder's parameters (`--project-path`, `--init`), `select`/`exclude`, `translation`
(key prefix, group, tags, owners, per selection), `partitioned`, every resource setting from
YAML (memory limit and lock timeout end to end), and two components in one code location.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox
from pydantic import ValidationError

from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from cpg_dagster.component import CpgComponent
from cpg_dagster.scaffold import STARTER_VIEW
from cpg_dagster.selection import SelectionError
from tests.dagster.projects import materialize_defs, write_user_project
from tests.dagster.rebuilds import failures
from tests.hardening.races import CHILD
from tests.paths import REPO_ROOT
from tests.plan.projects import write_project

COMPONENT = "cpg_dagster.component.CpgComponent"


@pytest.fixture
def sandbox() -> Iterator[DefsFolderSandbox]:
    with create_defs_folder_sandbox() as box:
        yield box


def add(sandbox: DefsFolderSandbox, name: str, attributes: dict[str, Any]) -> Path:
    path = sandbox.defs_folder_path / name
    path.mkdir()
    document = {"type": COMPONENT, "attributes": attributes}
    (path / "defs.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def refresh(sandbox: DefsFolderSandbox, *paths: Path) -> None:
    with sandbox.build_component_tree() as tree:
        for path in paths:
            component = tree.load_component(path)
            assert isinstance(component, CpgComponent)
            asyncio.run(component.refresh_state(sandbox.project_root))


def keys(defs: dg.Definitions) -> set[str]:
    graph = defs.resolve_asset_graph()
    return {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_executable}


def cause(error: BaseException, kind: type[BaseException]) -> BaseException:
    found: BaseException | None = error
    while found is not None and not isinstance(found, kind):
        found = found.__cause__ or found.__context__
    assert found is not None, f"no {kind.__name__} in {error!r}"
    return found


def test_select_exclude_and_translation_rules(sandbox: DefsFolderSandbox, tmp_path: Path) -> None:
    toml = write_user_project(tmp_path)
    path = add(
        sandbox,
        "shop",
        {
            "project": str(toml),
            "select": ["folder:stg", "by_country", "negative_*"],
            "exclude": "tag:check",
            "translation": {
                "key_prefix": "shop",
                "tags": {"team": "data"},
                "owners": ["team:data"],
                "rules": [
                    {"select": "tag:pii", "group_name": "sensitive", "tags": {"pii": "yes"}},
                    {"select": "by_country", "owners": ["bob@example.com"]},
                ],
            },
        },
    )
    refresh(sandbox, path)
    with sandbox.load_component_and_build_defs(defs_path=path) as (_component, defs):
        assert keys(defs) == {"shop/customer_totals", "shop/by_country", "shop/cpg/plan"}
        graph = defs.resolve_asset_graph()
        totals = graph.get(dg.AssetKey(["shop", "customer_totals"]))
        assert totals.group_name == "sensitive"  # the rule wins over the folder group
        assert totals.tags["pii"] == "yes" and totals.tags["team"] == "data"
        assert totals.owners == ["alice@example.com", "team:team-x", "team:data"]
        country = graph.get(dg.AssetKey(["shop", "by_country"]))
        assert country.group_name == "marts" and country.tags["team"] == "data"
        assert country.owners == ["team:data", "bob@example.com"]
        checks = {k.to_user_string() for k in graph.asset_check_keys}
        assert checks == {
            "shop/customer_totals:keys_unique",
            "shop/by_country:keys_unique",
        }
        names = {s.name for s in defs.sensors or []} | {j.name for j in defs.jobs or []}
        assert {"shop_cpg_change_sensor", "shop_cpg_automation", "shop_cpg_build_all"} <= names
        result = materialize_defs(defs, dg.DagsterInstance.ephemeral())
        assert result.success, failures(result)  # the selection builds on its own


def test_a_selection_that_selects_nothing_fails_at_load(
    sandbox: DefsFolderSandbox, tmp_path: Path
) -> None:
    toml = write_user_project(tmp_path)
    path = add(sandbox, "shop", {"project": str(toml), "select": "tag:nothing_has_it"})
    refresh(sandbox, path)
    with pytest.raises(Exception) as caught, sandbox.load_component_and_build_defs(defs_path=path):
        pass
    message = str(cause(caught.value, SelectionError))
    assert str(path / "defs.yaml") in message and "leave no view" in message
    bad = add(sandbox, "typo", {"project": str(toml), "select": "tags:pii"})
    with pytest.raises(Exception) as caught, sandbox.load_component_and_build_defs(defs_path=bad):
        pass
    assert "unknown selector 'tags:pii'" in str(cause(caught.value, SelectionError))


def test_two_components_share_a_code_location(sandbox: DefsFolderSandbox, tmp_path: Path) -> None:
    views = {"a": "select order_id, amount from orders", "b": "select count(*) as n from a"}
    paths = []
    for name in ("north", "south"):
        toml = write_project(tmp_path / name, views)
        paths.append(
            add(sandbox, name, {"project": str(toml), "translation": {"key_prefix": name}})
        )
    refresh(sandbox, *paths)
    with sandbox.build_all_defs() as defs:
        dg.Definitions.validate_loadable(defs)
        assert {"north/a", "north/b", "south/a", "south/b"} <= keys(defs)
        assert set(defs.resources or {}) == {"north_cpg", "south_cpg"}
        jobs = {j.name for j in defs.jobs or []}
        assert {"north_cpg_build_all", "south_cpg_build_all"} <= jobs
        schedules = {s.name for s in defs.schedules or []}
        assert schedules == {"north_cpg_nightly", "south_cpg_nightly"}
        with dg.instance_for_test() as instance:
            for name in ("north", "south"):
                job = defs.resolve_job_def(f"{name}_cpg_build_all")
                assert job.execute_in_process(instance=instance).success
            built = {
                k.to_user_string()
                for k in instance.get_asset_keys()
                if instance.get_latest_materialization_event(k) is not None
            }
            assert {"north/b", "south/b"} <= built


def test_partitioned_component(sandbox: DefsFolderSandbox, tmp_path: Path) -> None:
    toml = write_project(tmp_path, {"a": "select order_id from orders"})
    path = add(
        sandbox,
        "many",
        {"project": str(toml), "partitioned": True, "translation": {"key_prefix": "m"}},
    )
    refresh(sandbox, path)
    with sandbox.load_component_and_build_defs(defs_path=path) as (_component, defs):
        graph = defs.resolve_asset_graph()
        partitions = graph.get(dg.AssetKey(["m", "a"])).partitions_def
        assert isinstance(partitions, dg.DynamicPartitionsDefinition)
        assert partitions.name == "m_cpg_repositories"
        assert not defs.sensors and not defs.schedules  # they watch one repository


def test_memory_limit_and_lock_timeout_from_yaml_work_end_to_end(
    sandbox: DefsFolderSandbox, tmp_path: Path
) -> None:
    views = {
        "a": "select order_id from orders",
        # a hash join whose build side (a million rows) cannot fit in 1 MiB nor spill
        "wide": "select count(*) as n from generate_series(1, 1000000) g "
        "join (select order_id from a) o on g.value = o.order_id",
    }
    toml = write_project(tmp_path, views)
    store = load_project(toml).store
    limited = add(sandbox, "limited", {"project": str(toml), "execution": {"memory_limit_mb": 1}})
    refresh(sandbox, limited)
    with sandbox.load_component_and_build_defs(defs_path=limited) as (_component, defs):
        result = materialize_defs(defs, dg.DagsterInstance.ephemeral())
        assert not result.success
        message = failures(result)[0]
        assert "view 'wide' failed" in message and "memory limit of 1 MiB" in message

    (limited / "defs.yaml").write_text(
        yaml.safe_dump(
            {
                "type": COMPONENT,
                "attributes": {"project": str(toml), "execution": {"lock_timeout_s": 0.5}},
            }
        ),
        encoding="utf-8",
    )
    with sandbox.load_component_and_build_defs(defs_path=limited) as (_component, defs):
        holder = subprocess.Popen(
            [*CHILD, "hold", str(store / ".lock"), "a test holding the store"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            busy = materialize_defs(defs, dg.DagsterInstance.ephemeral(), ["a"])
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=60)
        assert not busy.success
        assert "gave up after waiting 0.5 s" in failures(busy)[0]


def test_scaffold_params(sandbox: DefsFolderSandbox, tmp_path: Path) -> None:
    started = sandbox.scaffold_component(CpgComponent, "started", scaffold_params={"init": True})
    assert yaml.safe_load((started / "defs.yaml").read_text("utf-8")) == {
        "type": COMPONENT,
        "attributes": {"project": "cpg.toml"},
    }
    assert (started / "views" / STARTER_VIEW).is_file()
    project = load_project(started / "cpg.toml")
    assert project.repo == sandbox.project_root.resolve() and project.include_cpg
    plan = compile_plan(project, cache=False)
    assert plan.tasks["definitions_per_file"].admitted, plan.problems

    toml = write_user_project(tmp_path / "existing")
    pointed = sandbox.scaffold_component(
        CpgComponent, "pointed", scaffold_params={"project_path": str(toml)}
    )
    relative = yaml.safe_load((pointed / "defs.yaml").read_text("utf-8"))["attributes"]["project"]
    assert (pointed / relative).resolve() == toml.resolve()

    plain = sandbox.scaffold_component(CpgComponent, "plain")
    assert yaml.safe_load((plain / "defs.yaml").read_text("utf-8"))["attributes"] == {}

    with pytest.raises(ValidationError, match=r"no cpg\.toml or pyproject\.toml"):
        sandbox.scaffold_component(
            CpgComponent, "missing", scaffold_params={"project_path": str(tmp_path)}
        )
    with pytest.raises(ValidationError, match="not both"):
        sandbox.scaffold_component(
            CpgComponent, "both", scaffold_params={"project_path": str(toml), "init": True}
        )
