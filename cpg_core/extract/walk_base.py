"""The AST walk's shared machinery: row types, positions, ids, dispatch, scope bookkeeping.

Split from the node handlers (``walk_defs``, ``walk_refs``) so each module stays about one thing;
``astwalk.Walker`` combines them and fills ``DISPATCH``.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from cpg_core.extract.source import LineIndex

Row = tuple[Any, ...]
Span = tuple[int, int, int, int, int, int]
# (scope_id, def_id, scope_kind, span) registered for symtable alignment, keyed by
# (outer scope_id, symtable name, line).
Candidate = tuple[str, str, str, Span]
CandidateKey = tuple[str, str, int]

_CTX: dict[type, str] = {ast.Load: "load", ast.Store: "store", ast.Del: "del"}
_NOT_CHILDREN = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "type_comment",
        "kind",
        "conversion",
        "simple",
        "is_async",
        "level",
        "id",
        "attr",
        "arg",
        "name",
        "module",
        "names",
        "type_ignores",
    }
)
_FIELDS: dict[type, tuple[str, ...]] = {}
DOCSTRING_HEAD_CHARS = 120


def _child_fields(cls: type) -> tuple[str, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = tuple(f for f in getattr(cls, "_fields", ()) if f not in _NOT_CHILDREN)
        _FIELDS[cls] = fields
    return fields


class WalkerBase:
    """Walks one parsed module; rows accumulate in the lists passed in (one list per table)."""

    def __init__(
        self,
        *,
        path: str,
        module: str,
        is_package: bool,
        index: LineIndex,
        base: int,
        tables: dict[str, list[Row]],
    ) -> None:
        self.path = path
        self.module = module
        self.is_package = is_package
        self.index = index
        self.src = index.src
        self.starts = index.starts
        self.ascii = index.ascii
        self.base = base
        self.defs = tables["defs"]
        self.params = tables["params"]
        self.refs = tables["refs"]
        self.calls = tables["calls"]
        self.imports = tables["imports"]
        self.flows = tables["flows"]
        self.sites = tables["sites"]
        self.candidates: dict[CandidateKey, list[Candidate]] = {}
        self.seen_ids: set[str] = set()
        self.module_def_id = f"module:{path}"
        self.module_scope_id = f"scope:{path}"
        # Current context: the name scope rows belong to, the innermost def, its qualname and kind.
        self.scope_id = self.module_scope_id
        self.def_id = self.module_def_id
        self.qual: str | None = None
        self.kind = "module"
        self.in_annotation = False

    # ------------------------------------------------------------------ helpers
    def span(self, node: Any) -> Span:
        """(line, col, end_line, end_col, bstart, bend) of a node with positions."""
        line = node.lineno
        end_line = node.end_lineno
        col = node.col_offset
        end_col = node.end_col_offset
        starts = self.starts
        bstart = starts[line - 1] + col + self.base
        bend = starts[end_line - 1] + end_col + self.base
        if self.ascii:
            return (line, col, end_line, end_col, bstart, bend)
        char_col = self.index.char_col
        return (line, char_col(line, col), end_line, char_col(end_line, end_col), bstart, bend)

    def text(self, node: Any) -> str:
        """Source text of a node (as written, comments and line breaks included)."""
        start = self.starts[node.lineno - 1] + node.col_offset
        end = self.starts[node.end_lineno - 1] + node.end_col_offset
        return self.src[start:end].decode("utf-8", "replace")

    def make_id(self, kind: str, span: Span) -> str:
        """``kind:path:bstart:bend``; a numbered suffix only if a span repeats (never on 3.11)."""
        ident = f"{kind}:{self.path}:{span[4]}:{span[5]}"
        seen = self.seen_ids
        if ident in seen:
            ident = self._dedupe(ident)
        seen.add(ident)
        return ident

    def _dedupe(self, ident: str) -> str:
        n = 2
        while f"{ident}:{n}" in self.seen_ids:
            n += 1
        return f"{ident}:{n}"

    def visit(self, node: Any) -> None:
        """Dispatch on the exact node type."""
        DISPATCH.get(node.__class__, WalkerBase.generic)(self, node)

    def generic(self, node: Any) -> None:
        """Visit child nodes in field order."""
        visit = self.visit
        cls = node.__class__
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = _child_fields(cls)
        for name in fields:
            value: Any = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item)
            elif isinstance(value, ast.AST):
                visit(value)

    def visit_all(self, nodes: list[Any] | None) -> None:
        """Visit a list of nodes, skipping ``None`` holes (``kw_defaults``, dict ``**`` keys)."""
        visit = self.visit
        for node in nodes or ():
            if node is not None:
                visit(node)

    def register(self, outer: str, name: str, line: int, cand: Candidate) -> None:
        """Remember a block for alignment with the symtable child (outer, name, line)."""
        key = (outer, name, line)
        found = self.candidates.get(key)
        if found is None:
            self.candidates[key] = [cand]
        else:
            found.append(cand)

    def child_qual(self, name: str) -> str:
        """Python ``__qualname__`` of a def named ``name`` in the current context."""
        if self.qual is None:
            return name
        if self.kind == "class":
            return f"{self.qual}.{name}"
        return f"{self.qual}.<locals>.{name}"

    def ident_after(self, pos: int, name: str) -> tuple[int, int] | None:
        """Span in ``src`` of the identifier following ``pos`` (whitespace, ``\\`` lines skipped).

        The identifier must spell ``name`` up to NFKC normalization, as the parser normalizes it.
        """
        window = self.src[pos : pos + 4 * len(name) + 256].decode("utf-8", "ignore")
        m = _IDENT_AFTER.match(window)
        if m is None or not _same_ident(m.group(1), name):
            return None
        start = pos + len(window[: m.start(1)].encode("utf-8"))
        return start, start + len(m.group(1).encode("utf-8"))

    def _span_of_bytes(self, start: int, end: int) -> Span:
        starts = self.starts
        line = bisect_right(starts, start)
        end_line = bisect_right(starts, end - 1) if end > start else line
        col = start - starts[line - 1]
        end_col = end - starts[end_line - 1]
        if not self.ascii:
            col = self.index.char_col(line, col)
            end_col = self.index.char_col(end_line, end_col)
        return (line, col, end_line, end_col, start + self.base, end + self.base)

    def _enter(
        self, scope_id: str, def_id: str | None, qual: str | None, kind: str | None
    ) -> tuple:
        saved = (self.scope_id, self.def_id, self.qual, self.kind, self.in_annotation)
        self.scope_id = scope_id
        if def_id is not None:
            self.def_id = def_id
            self.qual = qual
            self.kind = kind or self.kind
            self.in_annotation = False
        return saved

    def _leave(self, saved: tuple) -> None:
        self.scope_id, self.def_id, self.qual, self.kind, self.in_annotation = saved


# Node type -> handler; filled by ``astwalk`` (handlers live in the subclasses).
DISPATCH: dict[type, Callable[[Any, Any], object]] = {}
_IDENT_AFTER = re.compile(r"(?:\s|\\\r?\n)*(\w+)")


def _same_ident(text: str, name: str) -> bool:
    return text == name or unicodedata.normalize("NFKC", text) == name
