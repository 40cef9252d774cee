"""Child processes of the concurrency tests: `python -m tests.hardening._concurrency_child CMD ...`.

- `hold LOCK OWNER`: take the store lock, print "held", keep it until stdin closes.
- `read STORE STOP TABLE...`: until the file STOP exists, read the tables the way `cpg query`
  and `cpg status` do; print one JSON line per read: {"table", "hash"} or {"status", "error"}.
- `dagster STORE REPO LOCK_TIMEOUT`: one Dagster run of the whole built-in CPG of REPO into
  STORE on the instance of $DAGSTER_HOME; print {"run_id", "success"}.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from pathlib import Path
from typing import Any


def hold(lock: Path, owner: str) -> int:
    from cpg_core.store.lock import store_lock

    with store_lock(lock, owner, 10.0):
        print("held", flush=True)
        sys.stdin.read()  # until the parent closes our stdin
    return 0


def read(store: Path, stop: Path, tables: list[str]) -> int:
    from rich.console import Console

    from cpg_core.cli_store import query_store, status_table
    from cpg_core.store.delta_store import DeltaStore
    from cpg_core.store.partitions import table_version

    print(json.dumps({"ready": True}), flush=True)
    while not stop.exists():
        for name in tables:
            try:
                rows = query_store(store, f"SELECT * FROM {name}")
                info = DeltaStore(store).info(name)  # a partitioned table's version is its map's
                version = table_version(rows, info.partition_by if info is not None else None)
                print(json.dumps({"table": name, "hash": version}), flush=True)
            except Exception as error:  # reported to the parent, which fails the test
                print(json.dumps({"table": name, "error": repr(error)}), flush=True)
        try:
            text = io.StringIO()
            Console(file=text, width=200).print(status_table(store))
            print(json.dumps({"status": len(text.getvalue())}), flush=True)
        except Exception as error:
            print(json.dumps({"status": -1, "error": repr(error)}), flush=True)
    return 0


def dagster(store: Path, repo: Path, lock_timeout_s: float) -> int:
    import dagster as dg

    from cpg_core.plan import compile_plan
    from cpg_core.project import Project
    from cpg_dagster.definitions import cpg_definitions, resource_for
    from cpg_dagster.resource import CpgResource

    project = dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)
    fields: dict[str, Any] = {
        **resource_for(project).model_dump(),
        "lock_timeout_s": lock_timeout_s,
    }
    resource = CpgResource(**fields)
    defs = cpg_definitions(compile_plan(project, cache=False), project=project, resource=resource)
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            assets, instance=instance, resources=defs.resources, raise_on_error=False
        )
    print(json.dumps({"run_id": result.run_id, "success": result.success}), flush=True)
    return 0


def main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    if command == "hold":
        return hold(Path(args[0]), args[1])
    if command == "read":
        return read(Path(args[0]), Path(args[1]), args[2:])
    if command == "dagster":
        return dagster(Path(args[0]), Path(args[1]), float(args[2]))
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
