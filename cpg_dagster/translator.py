"""How a compiled plan maps to Dagster: one overridable object, like dagster-dbt's translator.

Every mapping (key, group, description, deps, code version, kinds, owners, tags, metadata) is a
method taking `(plan, name)` — the analogue of dagster-dbt's `(manifest, unique_id)` — so a
subclass changes one of them without re-deriving the others. `get_asset_spec` composes them.

Assets exist for every persisted view (admitted or not: an invalid view keeps its asset so its
`admitted` check can fail visibly), for every evidence or source table a view reads, for the
repository (an observable source, `get_repo_asset_key`) and for the plan (`get_plan_asset_key`).
Inline views are no assets: they are folded into their persisted readers, whose deps, column
lineage and fingerprint already pass through them.

View assets do not depend on the plan asset. The plan's data version is the plan signature, which
changes whenever any view changes; as a dependency it would mark every view stale after a one-view
edit (the "global signature in every key" mistake of the system this replaces). Each view's own
`code_version` (its fingerprint, inlined views included) already says exactly when it changed.
Subclasses that want the edge can add it in `get_deps`.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dagster as dg

from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_core.plan.hashing import schema_hash
from cpg_core.plan.inline import folded_inputs, folded_lineage, schedule_positions
from cpg_core.views.loader import package_root

AssetKind = Literal["view", "evidence", "source"]

KIND_TAG = "cpg/kind"
PLAN_ASSET_NAME = ("cpg", "plan")  # two parts: can never equal a view or table key
REPO_ASSET_NAME = ("cpg", "repo")
TAG_LIMIT = 63
_TAG_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_GROUP_BAD = re.compile(r"[^A-Za-z0-9_]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def tag_value(text: str) -> str:
    """`text` as a valid strict Dagster tag value: `[A-Za-z0-9_.-]`, at most 63 characters."""
    return _TAG_BAD.sub("_", text)[:TAG_LIMIT]


def group_segment(text: str) -> str:
    """`text` as one segment of an asset group name (`[A-Za-z0-9_]+`)."""
    return _GROUP_BAD.sub("_", text).strip("_") or "_"


def owner_of(text: str) -> str:
    """A view owner as a Dagster owner: an e-mail stays, anything else becomes `team:<name>`."""
    text = text.strip()
    if _EMAIL.match(text) or (text.startswith("team:") and len(text) > 5):
        return text
    return f"team:{text}"


def asset_kind(plan: ExecutionPlan, name: str) -> AssetKind:
    """Whether `name` is a view, an evidence table or an external source of `plan`."""
    if name in plan.tasks:
        return "view"
    dataset = plan.datasets.get(name)
    if dataset is None:
        raise KeyError(f"{name!r} is neither a view nor an input table of the plan")
    return "evidence" if dataset.kind == "evidence" else "source"


def is_asset(plan: ExecutionPlan, name: str) -> bool:
    """Persisted views and input tables are assets; inline views are folded into readers."""
    task = plan.tasks.get(name)
    return task.view.persisted if task is not None else name in plan.datasets


def view_file(plan: ExecutionPlan, task: Task) -> Path | None:
    """The absolute path of a view's .sql file (built-in paths are relative to the package)."""
    if task.view.path is None:
        return None
    path = Path(task.view.path)
    if path.is_absolute():
        return path
    return (_package_root() if task.view.builtin else plan.project.root) / path


@functools.cache
def _package_root() -> Path:
    return package_root()


@dataclass
class PlanIndex:
    """Per-plan lookups computed once (schedule positions, generations, folded inputs)."""

    plan: ExecutionPlan
    position: dict[str, int] = field(init=False)
    generation: dict[str, int] = field(init=False)
    _folded: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.position = schedule_positions(self.plan)
        self.generation = self.plan.schedule.generation_of()

    def folded(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """`folded_inputs(plan, name)`, memoized, with the schedule positions computed once."""
        found = self._folded.get(name)
        if found is None:
            found = self._folded[name] = folded_inputs(self.plan, name, self.position)
        return found


class CpgTranslator:
    """Maps an `ExecutionPlan` to asset keys, specs and metadata. Override any `get_*` method.

    Args:
        key_prefix: prepended to every asset key (code locations sharing view names stay apart).
        group_name: when set, every asset goes to this group instead of the default scheme
            (`cpg` for built-in views, `evidence`, `sources`, a user view's sub-folder or `views`).
    """

    def __init__(self, *, key_prefix: Sequence[str] | str = (), group_name: str | None = None):
        prefix = (key_prefix,) if isinstance(key_prefix, str) else tuple(key_prefix)
        self.key_prefix: tuple[str, ...] = prefix
        self.group_name = group_name
        self._index: PlanIndex | None = None
        self._keys: dict[str, dg.AssetKey] = {}
        self._column_deps: dict[tuple[str, str], dg.TableColumnDep] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(key_prefix={self.key_prefix!r}, group_name={self.group_name!r})"
        )

    def plan_index(self, plan: ExecutionPlan) -> PlanIndex:
        """Lookups over `plan` computed once per plan (the last plan seen is kept)."""
        if self._index is None or self._index.plan is not plan:
            self._index = PlanIndex(plan)
        return self._index

    # -- keys ------------------------------------------------------------------------------

    def get_asset_key(self, name: str) -> dg.AssetKey:
        """The key of view or table `name` (the prefix, then the name)."""
        return dg.AssetKey([*self.key_prefix, name])

    def asset_key_of(self, name: str) -> dg.AssetKey:
        """`get_asset_key(name)`, memoized (a plan names each table many times)."""
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = self.get_asset_key(name)
        return key

    def get_repo_asset_key(self) -> dg.AssetKey:
        """The observable source asset of the repository whose evidence is extracted."""
        return dg.AssetKey([*self.key_prefix, *REPO_ASSET_NAME])

    def get_plan_asset_key(self) -> dg.AssetKey:
        """The asset of the compiled plan (its data version is the plan signature)."""
        return dg.AssetKey([*self.key_prefix, *PLAN_ASSET_NAME])

    # -- one asset ---------------------------------------------------------------------------

    def get_group_name(self, plan: ExecutionPlan, name: str) -> str | None:
        """`cpg` for built-in views, `evidence`, `sources`, else the view's sub-folder or `views`."""
        if self.group_name is not None:
            return self.group_name
        kind = asset_kind(plan, name)
        if kind == "evidence":
            return "evidence"
        if kind == "source":
            return "sources"
        task = plan.tasks[name]
        if task.view.builtin:
            return "cpg"
        folder = self._view_folder(plan, task)
        return "/".join(group_segment(part) for part in folder) if folder else "views"

    @staticmethod
    def _view_folder(plan: ExecutionPlan, task: Task) -> tuple[str, ...]:
        """The sub-folders of a user view inside its view folder (empty at the top level)."""
        path = view_file(plan, task)
        if path is None:
            return ()
        for folder in plan.project.view_dirs:
            try:
                return path.parent.relative_to(folder).parts
            except ValueError:
                continue
        return ()

    def get_description(self, plan: ExecutionPlan, name: str) -> str:
        """A view's description, its problems if it is not admitted, and its SQL."""
        kind = asset_kind(plan, name)
        if kind == "evidence":
            return (
                f"Evidence table `{name}`: extracted from the repository's Python files "
                "(one row per entity; see docs/evidence_tables.md)."
            )
        if kind == "source":
            dataset = plan.datasets[name]
            return f"External source table `{name}` read from `{dataset.location}`."
        task = plan.tasks[name]
        parts = [task.view.description or f"View `{name}`."]
        if not task.admitted:
            problems = "\n".join(f"- {p.format()}" for p in task.problems)
            parts.append("**Not admitted** (the plan skips it):\n" + problems)
        parts.append(f"```sql\n{task.view.sql.strip()}\n```")
        return "\n\n".join(parts)

    def get_deps(self, plan: ExecutionPlan, name: str) -> Sequence[dg.AssetKey]:
        """Upstream asset keys: a view's inputs with inline views replaced by what they read;
        evidence depends on the repository; sources depend on nothing."""
        kind = asset_kind(plan, name)
        if kind == "evidence":
            return [self.get_repo_asset_key()]
        if kind == "source":
            return []
        _inline, tables = self.plan_index(plan).folded(name)
        return [self.asset_key_of(table) for table in tables]

    def get_code_version(self, plan: ExecutionPlan, name: str) -> str | None:
        """A view's fingerprint (it folds in inlined views); the evidence schema's hash;
        None for sources and views that were not admitted (they have no fingerprint)."""
        kind = asset_kind(plan, name)
        if kind == "view":
            return plan.tasks[name].fingerprint or None
        schema = plan.datasets[name].schema
        if kind == "evidence" and schema is not None:
            return f"evidence-{schema_hash(schema)[:16]}"
        return None

    def get_kinds(self, plan: ExecutionPlan, name: str) -> set[str]:
        """Compute and storage kinds shown in the UI."""
        kind = asset_kind(plan, name)
        if kind == "view":
            return {"datafusion", "delta"}
        if kind == "evidence":
            return {"python", "delta"}
        location = plan.datasets[name].location or ""
        suffix = Path(location).suffix.lower().lstrip(".")
        return {suffix} if suffix in ("parquet", "csv") else {"delta"}

    def get_owners(self, plan: ExecutionPlan, name: str) -> Sequence[str]:
        """The view's `@owners` (e-mails kept, other names as `team:<name>`)."""
        task = plan.tasks.get(name)
        if task is None or task.view.semantic is None:
            return []
        return [owner_of(o) for o in task.view.semantic.owners if o.strip()]

    def get_tags(self, plan: ExecutionPlan, name: str) -> Mapping[str, str]:
        """`cpg/kind`, the view's semantic layer and stability, and its `@tags` as keys.

        Values are made valid strict Dagster tags (`[A-Za-z0-9_.-]`, ≤ 63 characters); view
        `@tags` become keys with an empty value (the shape Dagster uses for kinds)."""
        kind = asset_kind(plan, name)
        tags: dict[str, str] = {KIND_TAG: kind}
        task = plan.tasks.get(name)
        if task is None:
            return tags
        semantic = task.view.semantic
        if semantic is not None:
            for key, value in (("layer", semantic.layer), ("stability", semantic.stability)):
                if value:
                    tags[f"cpg/{key}"] = tag_value(value)
        if not task.admitted:
            tags["cpg/admitted"] = "false"
        for tag in task.view.tags:
            key = tag_value(tag)
            if key:
                tags[key] = ""
        return tags

    def get_automation_condition(
        self, plan: ExecutionPlan, name: str
    ) -> dg.AutomationCondition | None:
        """None by default (runs are launched by people, schedules and sensors)."""
        return None

    def get_table_name(self, plan: ExecutionPlan, name: str) -> str:
        """The table's name in the store (`dagster/table_name`)."""
        return name

    def get_table_uri(self, plan: ExecutionPlan, name: str) -> str:
        """Where the table lives: the Delta table under the store, or the source's location."""
        if asset_kind(plan, name) == "source":
            location = plan.datasets[name].location
            return Path(location).as_uri() if location else ""
        return (plan.project.store / "tables" / name).as_uri()

    def get_column_schema(self, plan: ExecutionPlan, name: str) -> dg.TableSchema | None:
        """Columns with Arrow types, nullability and `@column` descriptions; declared `@keys` as
        uniqueness constraints."""
        task = plan.tasks.get(name)
        schema = task.output_schema if task is not None else plan.datasets[name].schema
        if schema is None:
            return None
        keys = task.view.keys if task is not None else ()
        described = {d.name: d.description for d in task.view.columns} if task is not None else {}
        columns = [
            dg.TableColumn(
                name=field.name, type=str(field.type), description=described.get(field.name) or None
            )
            if field.nullable and keys != (field.name,)  # the default constraints
            else dg.TableColumn(
                name=field.name,
                type=str(field.type),
                description=described.get(field.name) or None,
                constraints=dg.TableColumnConstraints(
                    nullable=field.nullable, unique=keys == (field.name,)
                ),
            )
            for field in schema
        ]
        constraints = (
            dg.TableConstraints(other=[f"unique ({', '.join(keys)})"]) if len(keys) > 1 else None
        )
        return dg.TableSchema(columns=columns, constraints=constraints)

    def get_column_lineage(self, plan: ExecutionPlan, name: str) -> dg.TableColumnLineage | None:
        """Output column → upstream (asset key, column), through inline views."""
        if name not in plan.tasks:
            return None
        deps = {
            column: [self._column_dep(table, up) for table, up in sources if is_asset(plan, table)]
            for column, sources in folded_lineage(plan, name).items()
        }
        deps = {column: found for column, found in deps.items() if found}
        return dg.TableColumnLineage(deps_by_column=deps) if deps else None

    def _column_dep(self, table: str, column: str) -> dg.TableColumnDep:
        dep = self._column_deps.get((table, column))
        if dep is None:
            dep = dg.TableColumnDep(asset_key=self.asset_key_of(table), column_name=column)
            self._column_deps[(table, column)] = dep
        return dep

    def get_code_references(
        self, plan: ExecutionPlan, name: str
    ) -> dg.CodeReferencesMetadataValue | None:
        """A reference to the view's .sql file."""
        task = plan.tasks.get(name)
        path = view_file(plan, task) if task is not None else None
        if path is None:
            return None
        with warnings.catch_warnings():  # both classes are beta in Dagster 1.13
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.CodeReferencesMetadataValue(
                code_references=[dg.LocalFileCodeReference(file_path=str(path), line_number=1)]
            )

    def get_metadata(self, plan: ExecutionPlan, name: str) -> Mapping[str, Any]:
        """Table metadata (`dagster/*`: schema, lineage, name, URI, code reference) and the
        plan's facts about the view (`cpg.*`: fingerprint, cost, schedule position)."""
        metadata: dict[str, Any] = {
            "dagster/table_name": self.get_table_name(plan, name),
            "dagster/storage_kind": "delta" if asset_kind(plan, name) != "source" else "file",
            "dagster/uri": self.get_table_uri(plan, name),
        }
        schema = self.get_column_schema(plan, name)
        if schema is not None:
            metadata["dagster/column_schema"] = schema
        lineage = self.get_column_lineage(plan, name)
        if lineage is not None:
            metadata["dagster/column_lineage"] = lineage
        references = self.get_code_references(plan, name)
        if references is not None:
            metadata["dagster/code_references"] = references
        metadata.update(self.get_plan_metadata(plan, name))
        return metadata

    def get_plan_metadata(self, plan: ExecutionPlan, name: str) -> Mapping[str, Any]:
        """`cpg.*` facts of a view from the plan (plain values; empty for input tables)."""
        task = plan.tasks.get(name)
        if task is None:
            dataset = plan.datasets[name]
            return {"cpg.dataset_kind": dataset.kind}
        index = self.plan_index(plan)
        inline, _tables = index.folded(name)
        out: dict[str, Any] = {
            "cpg.materialize": task.view.materialize,
            "cpg.admitted": task.admitted,
            "cpg.keys": list(task.view.keys),
            "cpg.inlined": list(inline),
        }
        if task.view.path is not None:
            out["cpg.path"] = task.view.path
        if not task.admitted:
            out["cpg.problems"] = [p.format() for p in task.problems]
            return out
        schedule = plan.schedule
        cost = plan.costs[name]
        out |= {
            "cpg.fingerprint": task.fingerprint,
            "cpg.cost_s": cost.seconds,
            "cpg.cost_source": cost.source,
            "cpg.bottom_level_s": schedule.bottom_level[name],
            "cpg.slack_s": schedule.slack[name],
            "cpg.on_critical_path": name in schedule.critical_path,
            "cpg.generation": index.generation[name],
            "cpg.order": index.position[name],
        }
        return out

    def get_check_blocking(self, plan: ExecutionPlan, name: str, check: str) -> bool:
        """Whether a failing check blocks downstream: only `admitted` does by default."""
        return check == "admitted"

    # -- composed ------------------------------------------------------------------------------

    def get_asset_spec(self, plan: ExecutionPlan, name: str) -> dg.AssetSpec:
        """The spec of view or table `name`, composed from the methods above."""
        return dg.AssetSpec(
            key=self.asset_key_of(name),
            deps=self.get_deps(plan, name),
            description=self.get_description(plan, name),
            metadata=self.get_metadata(plan, name),
            skippable=True,
            group_name=self.get_group_name(plan, name),
            code_version=self.get_code_version(plan, name),
            automation_condition=self.get_automation_condition(plan, name),
            owners=self.get_owners(plan, name),
            tags=self.get_tags(plan, name),
            kinds=self.get_kinds(plan, name),
        )
