"""The blocks of `CpgComponent`'s `defs.yaml`: paths, `execution:` and `translation:`.

`execution` is `cpg_core.settings.ExecutorConfig` field for field (a test checks it offers
exactly those settings); `translation` is the translator's settings in YAML, like dagster-dbt's
`translation`: a key prefix, a group, tags and owners for every asset, and the same per
selection of views (`rules`, selectors as in `cpg_dagster.selection`).
"""

# No `from __future__ import annotations`: Dagster resolves the dataclass fields' real types.
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import dagster as dg

from cpg_core.settings import ExecutorConfig, config_from, setting, setting_fields
from cpg_dagster.selection import any_matches, parse_all
from cpg_dagster.translator import CpgTranslator, TranslationRule

_RELATIVE = " Relative to the folder of this defs.yaml."


def _relative_path(context: dg.ResolutionContext, value: str | None) -> Path | None:
    """A path from defs.yaml, relative to the folder of that defs.yaml."""
    if value is None:
        return None
    return context.resolve_source_relative_path(context.resolve_value(value, as_type=str))


def _path_resolver(description: str) -> dg.Resolver:
    return dg.Resolver(
        _relative_path, model_field_type=str | None, description=description + _RELATIVE
    )


def _key_prefix(context: dg.ResolutionContext, value: str | Sequence[str]) -> tuple[str, ...]:
    value = context.resolve_value(value)
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def _selectors(context: dg.ResolutionContext, value: str | Sequence[str] | None) -> Any:
    """Selectors, checked when the YAML is read (an unknown kind names itself)."""
    if value is None:
        return None
    value = context.resolve_value(value)
    parse_all(value)
    return value


ProjectPath = Annotated[
    Path | None,
    _path_resolver("cpg.toml or pyproject.toml ([tool.cpg]); omitted: built-in CPG only."),
]
RepoPath = Annotated[
    Path | None, _path_resolver("Repository whose CPG is built (default: the project's repo).")
]
StorePath = Annotated[
    Path | None, _path_resolver("Delta store folder (default: the project's store).")
]
KeyPrefix = Annotated[
    Sequence[str],
    dg.Resolver(
        _key_prefix,
        model_field_type=str | list[str],
        description="Prepended to every asset key; also prefixes the job, schedule, sensor and "
        "resource names and names the defs state key.",
    ),
]
Selectors = Annotated[
    str | Sequence[str] | None,
    dg.Resolver(
        _selectors,
        model_field_type=str | list[str] | None,
        description="Views by name or glob, `tag:<tag>`, `folder:<glob>` or `layer:<layer>` "
        "(a string is split on spaces, like dbt's --select).",
    ),
]


@dataclass
class CpgExecution(dg.Resolvable):
    """How builds run: the build settings of `cpg_core.settings.ExecutorConfig` (defaults
    from there; a test checks this block offers exactly those settings)."""

    mode: Literal["serial", "parallel", "remote"] = setting("mode").default
    executor: Literal["threads", "processes", "ray", "dask"] = setting("executor").default
    max_tasks: int = setting("max_tasks").default
    remote_threshold_s: float = setting("remote_threshold_s").default
    target_partitions: int | None = setting("target_partitions").default
    memory_limit_mb: int | None = setting("memory_limit_mb").default
    lock_timeout_s: float = setting("lock_timeout_s").default

    def settings(self) -> dict[str, Any]:
        """Setting name → value, for `config_from` and the resource."""
        return {f.name: getattr(self, f.name) for f in setting_fields()}

    def config(self) -> ExecutorConfig:
        """The validated executor configuration (raises on an inconsistent combination)."""
        return config_from(self.settings())


@dataclass
class CpgTranslationRule(dg.Resolvable):
    """Group, tags and owners for the views (and input tables, by name) `select` picks."""

    select: Selectors = None
    group_name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: Sequence[str] = ()

    def rule(self) -> TranslationRule:
        selectors = parse_all(self.select)
        return TranslationRule(
            matches=lambda plan, name: any_matches(selectors, plan, name),
            group_name=self.group_name,
            tags=dict(self.tags),
            owners=tuple(self.owners),
        )


@dataclass
class CpgTranslation(dg.Resolvable):
    """How the project maps to assets: `CpgTranslator`'s settings (see docs/dagster.md)."""

    key_prefix: KeyPrefix = ()
    group_name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: Sequence[str] = ()
    rules: Sequence[CpgTranslationRule] = ()

    def translator(self) -> CpgTranslator:
        return CpgTranslator(
            key_prefix=self.key_prefix,
            group_name=self.group_name,
            tags=self.tags,
            owners=self.owners,
            rules=[r.rule() for r in self.rules],
        )
