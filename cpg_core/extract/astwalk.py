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


# The most frequent container nodes, visited without ``generic``'s field loop (same field order).
def _value(w: Walker, n: Any) -> None:
    w.visit(n.value)


def _return(w: Walker, n: ast.Return) -> None:
    w.return_value(n.value)
    if n.value is not None:
        w.visit(n.value)


def _yield(w: Walker, n: ast.Yield | ast.YieldFrom) -> None:
    w.yield_value(n)
    if n.value is not None:
        w.visit(n.value)


def _await(w: Walker, n: ast.Await) -> None:
    w.flow_from(n, [n.value])
    w.visit(n.value)


def _assign(w: Walker, n: ast.Assign) -> None:
    w.assign_value(n.targets, n.value)
    for target in n.targets:
        w.visit(target)
    w.visit(n.value)


def _named_expr(w: Walker, n: ast.NamedExpr) -> None:
    value = w.eid(n.value)
    if value is not None:
        w.bind_target(n.target, value)
    w.flow_from(n, [n.value])
    w.generic(n)


def _if_exp(w: Walker, n: ast.IfExp) -> None:
    w.flow_from(n, [n.body, n.orelse])
    w.generic(n)


def _for(w: Walker, n: ast.For | ast.AsyncFor) -> None:
    kind = "async_for" if n.__class__ is ast.AsyncFor else "for"
    w.iteration(kind, n.target, n.iter, w.starts[n.lineno - 1] + n.col_offset)
    w.generic(n)


def _with(w: Walker, n: ast.With | ast.AsyncWith) -> None:
    w.with_items(n)
    w.generic(n)


def _raise(w: Walker, n: ast.Raise) -> None:
    w.raise_facts(n)
    w.generic(n)


def _if(w: Walker, n: ast.If | ast.While) -> None:
    w.visit(n.test)
    w.visit_all(n.body)
    w.visit_all(n.orelse)


def _compare(w: Walker, n: ast.Compare) -> None:
    w.operator_facts(n)
    w.visit(n.left)
    for c in n.comparators:
        w.visit(c)


def _binop(w: Walker, n: ast.BinOp) -> None:
    w.operator_facts(n)
    w.visit(n.left)
    w.visit(n.right)


def _subscript(w: Walker, n: ast.Subscript) -> None:
    w.subscript_load(n)
    w.visit(n.value)
    w.visit(n.slice)


def _elts(w: Walker, n: ast.Tuple | ast.List | ast.Set) -> None:
    w.display(n)
    for e in n.elts:
        w.visit(e)


def _values(w: Walker, n: ast.JoinedStr) -> None:
    for v in n.values:
        w.visit(v)


def _bool_op(w: Walker, n: ast.BoolOp) -> None:
    w.flow_from(n, n.values)
    for v in n.values:
        w.visit(v)


def _dict(w: Walker, n: ast.Dict) -> None:
    w.display(n)
    w.generic(n)


def _unary(w: Walker, n: ast.UnaryOp) -> None:
    w.operator_facts(n)
    w.visit(n.operand)


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
        ast.Expr: _value,
        ast.Starred: _value,
        ast.keyword: _value,
        ast.Await: _await,
        ast.Return: _return,
        ast.Yield: _yield,
        ast.YieldFrom: _yield,
        ast.Assign: _assign,
        ast.NamedExpr: _named_expr,
        ast.IfExp: _if_exp,
        ast.For: _for,
        ast.AsyncFor: _for,
        ast.With: _with,
        ast.AsyncWith: _with,
        ast.Raise: _raise,
        ast.Dict: _dict,
        ast.If: _if,
        ast.While: _if,
        ast.Compare: _compare,
        ast.BinOp: _binop,
        ast.Subscript: _subscript,
        ast.Tuple: _elts,
        ast.List: _elts,
        ast.Set: _elts,
        ast.BoolOp: _bool_op,
        ast.JoinedStr: _values,
        ast.UnaryOp: _unary,
    }
)
