"""Validation problems: one record per mistake, with the view, file and position a person needs."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class ProblemCode(StrEnum):
    """What kind of mistake a problem reports (stable strings: they are part of the artifact)."""

    SYNTAX_ERROR = "syntax_error"
    FORBIDDEN_STATEMENT = "forbidden_statement"
    UNKNOWN_TABLE = "unknown_table"
    UNKNOWN_COLUMN = "unknown_column"
    TYPE_MISMATCH = "type_mismatch"
    PLANNING_ERROR = "planning_error"
    CYCLE = "cycle"
    INVALID_METADATA = "invalid_metadata"
    INVALID_NAME = "invalid_name"
    DUPLICATE_VIEW = "duplicate_view"
    UPSTREAM_INVALID = "upstream_invalid"
    SOURCE_ERROR = "source_error"
    CONTRACT_VIOLATION = "contract_violation"


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One validation problem. Positions are 1-based line and column in `path` (when known)."""

    code: ProblemCode
    view: str
    message: str
    path: str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    table: str | None = None
    column: str | None = None

    def format(self) -> str:
        """`path:line:col: view: message (hint)` — the shape editors and CI annotators understand."""
        view = self.view if self.view.isprintable() else repr(self.view)  # one line, always
        path = self.path if self.path is None or self.path.isprintable() else repr(self.path)
        where = path or f"<view {view}>"
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        text = f"{where}: {view}: [{self.code.value}] {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.splitlines())


def sort_key(problem: Problem) -> tuple[str, str, int, int, str, str]:
    """Deterministic order for reporting: by file, then position, then code."""
    return (
        problem.path or "",
        problem.view,
        problem.line or 0,
        problem.col or 0,
        problem.code.value,
        problem.message,
    )
