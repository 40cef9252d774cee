"""Pass: which loaded views become tasks.

A view whose name cannot be a table (or is taken by a dataset or an earlier view), or whose text
is not valid Unicode, never becomes a task (nor a path); it is reported, and any other problem
already known for a view (its metadata) marks it invalid before analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import msgspec

from cpg_core.plan.catalog import Dataset
from cpg_core.plan.sql_parse import offset_position
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.loader import check_names
from cpg_core.views.model import ViewDef
from cpg_core.views.names import name_error


@dataclass(frozen=True)
class Named:
    """The views that become tasks, those already invalid, and the problems found."""

    views: dict[str, ViewDef]
    invalid: frozenset[str]
    problems: list[Problem]


def name_views(
    all_views: Sequence[ViewDef], datasets: Mapping[str, Dataset], known: Sequence[Problem]
) -> Named:
    """Pick the views that become tasks; `known` are the problems found while loading."""
    problems = [*check_names(all_views, datasets)]
    unreadable = _text_problems(all_views)
    problems += unreadable
    views: dict[str, ViewDef] = {}
    for view in all_views:  # a name that cannot be a table never becomes a task (nor a path)
        if (
            view.name not in views
            and view.name not in datasets
            and name_error(view.name) is None
            and not any(p.view == view.name for p in unreadable)
        ):
            views[view.name] = view
    invalid = frozenset(p.view for p in [*known, *problems] if p.view in views)
    return Named(views, invalid, problems)


def _text_problems(views: Sequence[ViewDef]) -> list[Problem]:
    """A view built in code can hold text no file can: a lone surrogate is no Unicode, cannot be
    hashed, stored or shown, so the view is rejected before anything encodes it."""
    problems = []
    for view in views:
        try:
            view.sql.encode("utf-8")
            msgspec.json.encode(view)  # every other field (path, description, keys...)
        except UnicodeEncodeError as error:
            in_sql = error.object == view.sql
            pos = offset_position(view.sql, error.start) if in_sql else None
            path = view.path.encode("utf-8", "replace").decode("utf-8") if view.path else None
            problems.append(
                Problem(
                    code=ProblemCode.SYNTAX_ERROR,
                    view=view.name,
                    path=path,
                    line=pos.line if pos else None,
                    col=pos.col if pos else None,
                    message=f"the view's {'SQL' if in_sql else 'metadata or path'} is not "
                    "valid Unicode (it holds a lone surrogate)",
                )
            )
    return problems
