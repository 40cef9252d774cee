"""Day two on a few hundred real files, in real Dagster, with nothing held back.

`test_day_two.py` makes the finish-order race certain by slowing the store's writes down. This
test lets it happen naturally on a repository of a few hundred stdlib files (hundreds of rows per
evidence table, views that take real time): after an edit, a comment-only edit and no change at
all, every warm rebuild succeeds with its results in dependency order.
"""

from __future__ import annotations

import dataclasses
import shutil
import sysconfig
from pathlib import Path

import dagster as dg
import pytest

from cpg_core.plan import compile_plan
from cpg_core.project import Project
from cpg_dagster.definitions import cpg_definitions
from cpg_dagster.resource import CpgResource

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PACKAGES = (
    "email", "json", "xml", "http", "logging", "asyncio", "importlib", "concurrent",
    "multiprocessing", "urllib", "wsgiref", "html", "tomllib", "zoneinfo", "dbm", "sqlite3",
    "lib2to3",
)  # fmt: skip
MODULES = ("functools.py", "typing.py", "os.py", "collections", "enum.py", "contextlib.py")


def _repository(root: Path) -> int:
    """Copy the packages and modules above (tests folders left out); return the file count."""
    for name in (*PACKAGES, *MODULES):
        source = STDLIB / name
        if source.is_dir():
            shutil.copytree(
                source, root / name, ignore=shutil.ignore_patterns("test*", "__pycache__")
            )
        else:
            shutil.copy2(source, root / name)
    return sum(1 for _ in root.rglob("*.py"))


def _run(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict[str, str]:
    """Materialize everything; assert success and dependency order; name → data version."""
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition | dg.SourceAsset)]
    result = dg.materialize(
        assets, instance=instance, resources=defs.resources, raise_on_error=False
    )
    failures = [str(e.step_failure_data.error) for e in result.get_step_failure_events()]
    assert result.success, failures
    events = result.get_asset_materialization_events()
    keys = [e.asset_key for e in events if e.asset_key is not None]
    position = {key: i for i, key in enumerate(keys)}
    graph = defs.get_repository_def().asset_graph
    for key, at in position.items():
        for parent in graph.get(key).parent_keys:
            assert position.get(parent, -1) < at, (parent, key)
    return {
        key.to_user_string(): (e.materialization.tags or {}).get("dagster/data_version", "")
        for key, e in zip(keys, events, strict=True)
    }


@pytest.mark.slow
def test_warm_rebuilds_of_a_few_hundred_files_succeed(tmp_path: Path) -> None:
    """Parallel mode: views and writes finish in the most varied order (serial mode is covered
    with writes held back in test_day_two.py)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _repository(repo) >= 200
    store = tmp_path / "store"
    project = dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)
    resource = CpgResource(repo=str(repo), store=str(store), mode="parallel")
    defs = cpg_definitions(compile_plan(project, cache=False), project=project, resource=resource)
    with dg.instance_for_test() as instance:
        cold = _run(defs, instance)
        edited = repo / "json" / "encoder.py"
        text = edited.read_text(encoding="utf-8")
        edited.write_text(text + "\n\ndef added_on_day_two():\n    return 2\n", encoding="utf-8")
        warm = _run(defs, instance)
        changed = {name for name, version in warm.items() if cold.get(name) != version}
        assert {"defs", "cpg_nodes"} <= changed
        assert set(warm) - changed - {"cpg/plan"}, "every table changed: no race to lose"
        edited.write_text(text + "\n\ndef added_on_day_two():\n    return 2\n# note\n", "utf-8")
        _run(defs, instance)  # comment-only edit
        before = _run(defs, instance)  # no change
        assert before == _run(defs, instance)
