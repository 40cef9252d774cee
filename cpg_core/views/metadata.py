"""Read view metadata from the leading `--` comment block of a .sql file.

Free comment lines form the description; `-- @key: value` lines set metadata::

    -- Call sites resolved to their most likely target.
    -- @keys: call_id
    -- @materialize: inline
    -- @layer: resolution
    -- @owners: team-cpg, alice@example.com

Unknown keys and bad values are reported with their line, never ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import msgspec

from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import Materialize, SemanticContract

_LIST_KEYS = frozenset({"keys", "entity_keys", "join_keys", "owners", "tags"})
_SEMANTIC_TEXT_KEYS = frozenset({"layer", "entity", "grain", "version", "stability"})
_KNOWN_KEYS = _LIST_KEYS | _SEMANTIC_TEXT_KEYS | {"description", "materialize"}
_META_LINE = re.compile(r"^--\s*@(?P<key>[A-Za-z_][\w-]*)\s*:?\s*(?P<value>.*?)\s*$")


@dataclass
class ViewMetadata:
    """What a comment block declared (defaults when it declared nothing)."""

    description: str = ""
    keys: tuple[str, ...] = ()
    materialize: Materialize = "table"
    semantic: SemanticContract | None = None
    tags: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


_KNOWN_HINT = "known keys: " + ", ".join(sorted(_KNOWN_KEYS))


def _problem(
    view: str, path: str | None, lineno: int, raw: str, message: str, hint: str | None = None
) -> Problem:
    """A metadata problem pointing at the `@` of its line."""
    return Problem(
        code=ProblemCode.INVALID_METADATA,
        view=view,
        path=path,
        line=lineno,
        col=raw.index("@") + 1,
        message=message,
        hint=hint,
    )


def parse_metadata(text: str, *, view: str, path: str | None) -> ViewMetadata:
    """Parse the comment block that precedes the first SQL token of `text`."""
    meta = ViewMetadata()
    description: list[str] = []
    semantic: dict[str, object] = {}
    for lineno, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):  # as sqlglot counts
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("--"):
            break
        match = _META_LINE.match(line)
        if match is None:
            description.append(line[2:].strip())
            continue
        key, value = match["key"].lower().replace("-", "_"), match["value"]
        if key not in _KNOWN_KEYS:
            meta.problems.append(
                _problem(
                    view, path, lineno, raw, f"unknown metadata key @{match['key']}", _KNOWN_HINT
                )
            )
        elif key == "description":
            description.append(value)
        elif key == "materialize":
            if value in ("table", "inline"):
                meta.materialize = "inline" if value == "inline" else "table"
            else:
                message = f"@materialize must be 'table' or 'inline', not {value!r}"
                meta.problems.append(_problem(view, path, lineno, raw, message))
        elif key == "keys":
            meta.keys = _split_list(value)
        elif key == "tags":
            meta.tags = _split_list(value)
        elif key in _LIST_KEYS:
            semantic[key] = _split_list(value)
        else:
            semantic[key] = value
    meta.description = " ".join(part for part in description if part).strip()
    if semantic:
        meta.semantic = msgspec.convert(semantic, SemanticContract)
    return meta
