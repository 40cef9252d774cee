"""Can the store hold what a view outputs? Checked at compile time, so an admitted view builds.

Two things the store cannot hold: two output columns with one name (Delta Lake compares column
names case-insensitively) and a type with no lossless Delta Lake form (`store_types`). Both are
problems of the view, with a hint. The schema a view promises its readers is the *stored* one
(`store_schema`): what downstream views are planned against at compile time is what they get
at run time, whether from this run or from the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pyarrow as pa

from cpg_core.plan.sql_parse import Position, first_token_position, split_lines
from cpg_core.problems import Problem, ProblemCode
from cpg_core.store.store_types import StoreTypeError, store_field
from cpg_core.views.model import ViewDef


def name_position(sql: str, name: str) -> Position:
    """Where `name` first appears as a whole word in the view's SQL outside comment lines (else
    the first token)."""
    word = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])") if name else None
    for lineno, line in enumerate(split_lines(sql), start=1):
        if word is None or line.lstrip().startswith("--"):
            continue
        found = word.search(line)
        if found is not None:
            return Position(line=lineno, col=found.start() + 1)
    return first_token_position(sql)


def _problem(view: ViewDef, code: ProblemCode, column: str, message: str, hint: str) -> Problem:
    at = name_position(view.sql, column)
    return Problem(
        code=code,
        view=view.name,
        path=view.path,
        line=at.line,
        col=at.col,
        message=message,
        hint=hint,
        column=column,
    )


def duplicate_problems(
    view: ViewDef, schema: pa.Schema, expressions: Callable[[], Sequence[str] | None]
) -> list[Problem]:
    """One problem per output name used more than once, naming every column that uses it
    (`expressions` gives DataFusion's names of the output expressions, asked for only then)."""
    seen: dict[str, list[int]] = {}
    for index, name in enumerate(schema.names):
        seen.setdefault(name.lower(), []).append(index)
    clashes = [indices for indices in seen.values() if len(indices) > 1]
    if not clashes:
        return []
    exprs = expressions()
    problems = []
    for indices in clashes:

        def label(i: int) -> str:
            source = exprs[i] if exprs is not None and i < len(exprs) else None
            shown = f" ({source})" if source and source != schema.names[i] else ""
            return f"{i + 1} {schema.names[i]!r}{shown}"

        named = ", ".join(label(i) for i in indices[:-1]) + f" and {label(indices[-1])}"
        problems.append(
            _problem(
                view,
                ProblemCode.DUPLICATE_COLUMN,
                schema.names[indices[0]],
                f"output columns {named} have the same name; a stored table needs unique "
                "column names (compared case-insensitively)",
                "give each one its own alias (... AS name)",
            )
        )
    return problems


def stored_schema(view: ViewDef, schema: pa.Schema) -> tuple[pa.Schema | None, list[Problem]]:
    """The schema the store keeps for the view's output, or a problem per column it cannot."""
    fields: list[pa.Field] = []
    problems: list[Problem] = []
    for f in schema:
        try:
            fields.append(store_field(f))
        except StoreTypeError as error:
            problems.append(
                _problem(
                    view,
                    ProblemCode.UNSTORABLE_TYPE,
                    f.name,
                    f"output column {f.name!r}: {error}",
                    error.hint or "cast it to a type the store holds",
                )
            )
    if problems:
        return None, problems
    return pa.schema(fields, metadata=schema.metadata), []
