"""Selecting views by name, tag or folder: a component's `select`/`exclude` and translation rules.

Like dbt's node selection (which dagster-dbt's `select`/`exclude` pass through), a selector is
one of:

- a name or a glob of names: `cpg_nodes`, `check_*`;
- `tag:<tag>`: views whose `@tags` hold `<tag>`;
- `folder:<glob>`: views whose sub-folder inside their view folder matches (`marts`, `stg/*`);
- `layer:<layer>`: views whose `@layer` is `<layer>`.

A selector that is none of these is an error naming it (a typo must not select nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_dagster.translator import view_folder

KINDS = ("tag", "folder", "layer")


class SelectionError(ValueError):
    """A selector that cannot mean anything (unknown kind, empty value) or selects nothing."""


@dataclass(frozen=True)
class Selector:
    """One selector (see the module docstring): its kind (`name` for globs) and value."""

    kind: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Selector:
        text = text.strip()
        kind, sep, value = text.partition(":")
        if not sep:
            kind, value = "name", text
        if kind not in (*KINDS, "name"):
            raise SelectionError(
                f"unknown selector {text!r}: use a view name or glob, "
                + ", ".join(f"{k}:<{k}>" for k in KINDS)
            )
        if not value:
            raise SelectionError(f"empty selector {text!r}")
        return cls(kind, value)

    def matches(self, plan: ExecutionPlan, name: str) -> bool:
        """Whether view (or input table) `name` of `plan` is selected."""
        task = plan.tasks.get(name)
        if self.kind == "name":
            return fnmatchcase(name, self.value)
        if task is None:  # tags, folders and layers belong to views
            return False
        if self.kind == "tag":
            return self.value in task.view.tags
        if self.kind == "layer":
            semantic = task.view.semantic
            return semantic is not None and semantic.layer == self.value
        return _folder_matches(plan, task, self.value)


def _folder_matches(plan: ExecutionPlan, task: Task, pattern: str) -> bool:
    """The view's folder or one of its parents matches (`folder:stg` selects `stg/x` too)."""
    parts = view_folder(plan, task)
    return any(fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1))


def parse_all(selectors: str | Sequence[str] | None) -> tuple[Selector, ...]:
    """Selectors from YAML: one string (space separated, like dbt's `--select`) or a list."""
    if selectors is None:
        return ()
    items = selectors.split() if isinstance(selectors, str) else list(selectors)
    return tuple(Selector.parse(item) for item in items)


def any_matches(selectors: Iterable[Selector], plan: ExecutionPlan, name: str) -> bool:
    return any(s.matches(plan, name) for s in selectors)


def selected_views(
    plan: ExecutionPlan,
    select: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
) -> frozenset[str] | None:
    """The persisted views `select` picks (all when None) minus those `exclude` picks; None
    when neither is given (everything). Raises when the selection is empty."""
    chosen, dropped = parse_all(select), parse_all(exclude)
    if not chosen and not dropped:
        return None
    views = [n for n, t in sorted(plan.tasks.items()) if t.view.persisted]
    out = frozenset(
        n
        for n in views
        if (not chosen or any_matches(chosen, plan, n)) and not any_matches(dropped, plan, n)
    )
    if not out:
        raise SelectionError(
            f"select {list(select or [])!r} / exclude {list(exclude or [])!r} leave no view "
            f"of the project's {len(views)}"
        )
    return out
