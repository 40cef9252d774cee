"""Every problem gets a line:col: the last pass over a compile's problems.

Most problems are positioned where they are found (the token sqlglot or DataFusion points at).
The rest are about a whole view or a project entry: an upstream view that is invalid (its name
where the view reads it), a view whose name or definition is wrong (its first token), a source
that cannot be read (its `[sources.<name>]` line in the project file). Editors and CI
annotators need `path:line:col` on every line, so no problem leaves the compiler without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from cpg_core.plan.output_check import name_position
from cpg_core.plan.sql_parse import Position, first_token_position, split_lines
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import ViewDef


def with_positions(
    problems: Iterable[Problem], views: Iterable[ViewDef], config: Path | None
) -> list[Problem]:
    """`problems`, each with a position where it had none and one can be given."""
    texts: dict[tuple[str, str | None], str] = {(v.name, v.path): v.sql for v in views}
    config_text = _read(config)
    return [_positioned(p, texts, config, config_text) for p in problems]


def _positioned(
    problem: Problem,
    texts: Mapping[tuple[str, str | None], str],
    config: Path | None,
    config_text: str | None,
) -> Problem:
    if problem.line is not None:
        return problem
    at: Position | None = None
    sql = texts.get((problem.view, problem.path))
    if sql is not None:
        name = problem.table or problem.column
        at = name_position(sql, name) if name else first_token_position(sql)
    elif problem.code is ProblemCode.SOURCE_ERROR or problem.code is ProblemCode.INVALID_NAME:
        if config is not None and problem.path == config.name and config_text is not None:
            at = _source_line(config_text, problem.view)
        elif problem.path is not None and problem.path.endswith(".sql"):
            at = Position(line=1, col=1)  # a file that could not be read: its start
    if at is None:
        return problem
    return msgspec.structs.replace(problem, line=at.line, col=at.col)


def _read(config: Path | None) -> str | None:
    try:
        return config.read_text(encoding="utf-8") if config is not None else None
    except (OSError, UnicodeDecodeError):
        return None


def _source_line(text: str, name: str) -> Position:
    """The `[sources.<name>]` header of a source in the project file (else its first line)."""
    header = re.compile(
        r"^\s*\[\s*(?:tool\s*\.\s*cpg\s*\.\s*)?sources\s*\.\s*[\"']?" + re.escape(name) + r"\b"
    )
    for lineno, line in enumerate(split_lines(text), start=1):
        if header.match(line):
            return Position(line=lineno, col=len(line) - len(line.lstrip()) + 1)
    return Position(line=1, col=1)
