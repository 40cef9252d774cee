"""``scopes`` and ``symbols`` rows from CPython's ``symtable``, aligned with the AST walk's blocks.

Alignment key: (parent scope, symtable name, line) -> the blocks the walk registered under that key, in
visit order (``get_id()`` is a memory address and never used). The raw ``_table`` entries and flag
bits are read directly: building ``symtable.Symbol`` objects for every name costs more than the walk.
Flag semantics match ``symtable.Symbol`` (3.11), except that "module scope" means the module block
rather than any block named ``top``.
"""

from __future__ import annotations

import importlib
import symtable
from typing import Any

from cpg_core.extract.astwalk import Candidate, CandidateKey, Row, Span

_symtable: Any = importlib.import_module("_symtable")  # no type stubs for the C module
_USE = _symtable.USE
_DEF_PARAM = _symtable.DEF_PARAM
_DEF_NONLOCAL = _symtable.DEF_NONLOCAL
_DEF_ANNOT = _symtable.DEF_ANNOT
_DEF_IMPORT = _symtable.DEF_IMPORT
_DEF_LOCAL = _symtable.DEF_LOCAL
_DEF_BOUND = _symtable.DEF_BOUND
_SCOPE_OFF = _symtable.SCOPE_OFF
_SCOPE_MASK = _symtable.SCOPE_MASK
_LOCAL = _symtable.LOCAL
_CELL = _symtable.CELL
_FREE = _symtable.FREE
_GLOBAL_IMPLICIT = _symtable.GLOBAL_IMPLICIT
_GLOBAL_EXPLICIT = _symtable.GLOBAL_EXPLICIT
_TYPE_MODULE = _symtable.TYPE_MODULE

_BINDING = {
    _LOCAL: "local",
    _CELL: "cell",
    _FREE: "free",
    _GLOBAL_IMPLICIT: "global_implicit",
    _GLOBAL_EXPLICIT: "global_explicit",
}
_TABLE_TYPES: dict[int, str] = {
    value: label
    for attr, label in (
        ("TYPE_MODULE", "module"),
        ("TYPE_FUNCTION", "function"),
        ("TYPE_CLASS", "class"),
        ("TYPE_ANNOTATION", "annotation"),
        ("TYPE_TYPE_ALIAS", "type_alias"),
        ("TYPE_TYPE_PARAM", "type_parameters"),
        ("TYPE_TYPE_PARAMETERS", "type_parameters"),
        ("TYPE_TYPE_VAR_BOUND", "type_variable"),
        ("TYPE_TYPE_VARIABLE", "type_variable"),
    )
    if (value := getattr(_symtable, attr, None)) is not None
}
# (entry, scope_id, def_id, parent scope_id, scope kind, class name, aligned, span)
_Item = tuple[Any, str, str, str | None, str, str | None, bool, Span]
_COMPREHENSIONS = frozenset({"listcomp", "setcomp", "dictcomp", "genexpr"})


def build_symtable(text: str, path: str) -> Any:
    """The raw top-level symbol table entry (raises SyntaxError like the compiler).

    `_table` is the C-level entry: reading its flag bits directly skips the `symtable.Symbol`
    objects the public API builds for every name (they cost more than the AST walk)."""
    return symtable.symtable(text, path, "exec")._table  # type: ignore[attr-defined]


class Aligner:
    """Emits scope and symbol rows for one file while matching symtable blocks to walk blocks."""

    def __init__(
        self,
        *,
        path: str,
        module_def_id: str,
        module_scope_id: str,
        module_span: Span,
        candidates: dict[CandidateKey, list[Candidate]],
        scopes: list[Row],
        symbols: list[Row],
    ) -> None:
        self.path = path
        self.module_def_id = module_def_id
        self.module_scope_id = module_scope_id
        self.module_span = module_span
        self.candidates = candidates
        self.scopes = scopes
        self.symbols = symbols
        self.problems: list[tuple[str, int]] = []  # (message, line) of blocks that did not align

    def run(self, top: Any) -> None:
        """Emit scopes in pre-order (children in symtable order), each followed by its symbols."""
        stack: list[_Item] = [
            (top, self.module_scope_id, self.module_def_id, None, "module", None, True,
             self.module_span)
        ]  # fmt: skip
        unmatched = 0
        while stack:
            entry, scope_id, def_id, parent, kind, class_name, aligned, span = stack.pop()
            self._scope_row(entry, scope_id, def_id, parent, kind, class_name, aligned, span)
            pending: list[_Item] = []
            for child in entry.children:
                name = child.name
                found = self.candidates.get((scope_id, name, child.lineno))
                ctype = _TABLE_TYPES.get(child.type, str(child.type))
                if found:
                    c_scope, c_def, c_kind, c_span = found.pop(0)
                    c_aligned = True
                else:
                    unmatched += 1
                    c_scope = f"scope:{self.path}:L{child.lineno}:{name}#{unmatched}"
                    c_def, c_span, c_aligned = def_id, span, False
                    c_kind = "comprehension" if name in _COMPREHENSIONS else ctype
                    if ctype in ("function", "class") and name not in _COMPREHENSIONS:
                        self.problems.append(
                            (f"symtable {ctype} block {name!r} has no matching def", child.lineno)
                        )
                c_class = name if ctype == "class" else class_name
                pending.append(
                    (child, c_scope, c_def, scope_id, c_kind, c_class, c_aligned, c_span)
                )
            stack.extend(reversed(pending))

    def leftovers(self) -> list[Candidate]:
        """Walk blocks no symtable block claimed (comprehensions inlined on 3.12+, or a bug)."""
        return [c for found in self.candidates.values() for c in found]

    def _scope_row(
        self,
        entry: Any,
        scope_id: str,
        def_id: str,
        parent: str | None,
        kind: str,
        class_name: str | None,
        aligned: bool,
        span: Span,
    ) -> None:
        ttype = _TABLE_TYPES.get(entry.type, str(entry.type))
        self.scopes.append(
            (
                scope_id,
                self.path,
                def_id,
                parent,
                kind,
                ttype,
                entry.name,
                class_name,
                bool(entry.nested),
                aligned,
                *span,
            )
        )
        self._symbol_rows(entry, scope_id, def_id, class_name)

    def _symbol_rows(self, entry: Any, scope_id: str, def_id: str, class_name: str | None) -> None:
        children = {c.name for c in entry.children}
        module_scope = entry.type == _TYPE_MODULE
        prefix = f"symbol:{scope_id[6:]}#"
        mangle = f"_{class_name.lstrip('_')}" if class_name and class_name.lstrip("_") else None
        rows = self.symbols
        path = self.path
        for raw_name, flags in entry.symbols.items():
            scope = (flags >> _SCOPE_OFF) & _SCOPE_MASK
            bound_at_module = bool(module_scope and flags & _DEF_BOUND)
            name = raw_name
            if mangle is not None and raw_name.startswith(mangle + "__"):
                rest = raw_name[len(mangle) :]
                if not rest.endswith("__"):
                    name = rest
            rows.append(
                (
                    prefix + raw_name,
                    scope_id,
                    def_id,
                    path,
                    name,
                    raw_name,
                    _BINDING.get(scope, "none"),
                    flags,
                    scope in (_LOCAL, _CELL) or bound_at_module,
                    scope in (_GLOBAL_IMPLICIT, _GLOBAL_EXPLICIT) or bound_at_module,
                    scope == _GLOBAL_EXPLICIT,
                    bool(flags & _DEF_NONLOCAL),
                    scope == _FREE,
                    scope == _CELL,
                    bool(flags & _DEF_PARAM),
                    bool(flags & _DEF_IMPORT),
                    bool(flags & _DEF_LOCAL),
                    bool(flags & _USE),
                    bool(flags & _DEF_ANNOT),
                    raw_name in children,
                )
            )
