"""One pass over a module's ``ast`` producing defs, params, refs, calls and imports rows.

The walk visits every node in the order CPython's symtable visits it (defaults, annotations and
decorators in the enclosing scope before the new block; a comprehension's first iterable outside it;
dict-comprehension values before keys), so scopes can later be aligned with symtable children by
(parent scope, name, line) even when several share a line. It is a hand-rolled dispatch rather than
``ast.NodeVisitor`` because this is the hot path of extraction.
"""

from __future__ import annotations

import ast
from typing import Any

from cpg_core.extract.walk_base import (
    DISPATCH,
    Candidate,
    CandidateKey,
    Row,
    Span,
    WalkerBase,
)
from cpg_core.extract.walk_defs import DefsWalker
from cpg_core.extract.walk_refs import RefsWalker

__all__ = ["Candidate", "CandidateKey", "Row", "Span", "Walker", "WalkerBase"]


class Walker(DefsWalker, RefsWalker):
    """Walks one parsed module; rows accumulate in the lists passed in (one list per table)."""


def _noop(self: Walker, node: Any) -> None:
    return None


DISPATCH.update(
    {
        ast.FunctionDef: Walker.function,
        ast.AsyncFunctionDef: Walker.function,
        ast.ClassDef: Walker.class_,
        ast.Lambda: Walker.lambda_,
        ast.ListComp: lambda w, n: w.comprehension(n, "listcomp", (n.elt,)),
        ast.SetComp: lambda w, n: w.comprehension(n, "setcomp", (n.elt,)),
        ast.GeneratorExp: lambda w, n: w.comprehension(n, "genexpr", (n.elt,)),
        ast.DictComp: lambda w, n: w.comprehension(n, "dictcomp", (n.value, n.key)),
        ast.Name: Walker.name,
        ast.Attribute: Walker.attribute,
        ast.Call: Walker.call,
        ast.Import: Walker.import_,
        ast.ImportFrom: Walker.import_from,
        ast.AugAssign: Walker.aug_assign,
        ast.AnnAssign: Walker.ann_assign,
        ast.ExceptHandler: Walker.except_handler,
        ast.MatchAs: Walker.match_capture,
        ast.MatchStar: Walker.match_capture,
        ast.MatchMapping: Walker.match_capture,
        ast.Constant: _noop,
        ast.Global: _noop,
        ast.Nonlocal: _noop,
        ast.Pass: _noop,
        ast.Break: _noop,
        ast.Continue: _noop,
    }
)
