"""Definition handlers of the AST walk: module, functions, lambdas, classes, comprehensions, params.

Parts evaluated before a block (defaults, annotations, decorators, bases, a comprehension's first
iterable) are visited in the enclosing scope and in CPython's symtable order, then the block is
registered for symtable alignment and entered.
"""

from __future__ import annotations

import ast
from typing import Any, cast

from cpg_core.extract.walk_base import Row, Span
from cpg_core.extract.walk_flows import FlowsWalker

DOCSTRING_HEAD_CHARS = 120


class DefsWalker(FlowsWalker):
    """Rows of ``defs`` and ``params``; enters and leaves name scopes."""

    # ------------------------------------------------------------------ module
    def run(self, tree: ast.Module) -> None:
        """Emit the module def and walk the body."""
        index = self.index
        end_line, end_col = index.end_position()
        size = len(self.src)
        span: Span = (1, 0, end_line, end_col, self.base, self.base + size)
        self.seen_ids.add(self.module_def_id)
        self.defs.append(
            (
                self.module_def_id,
                "module",
                self.module.rpartition(".")[2],
                None,
                self.module,
                None,
                self.module_scope_id,
                None,
                self.path,
                self.module,
                *span,
                None,
                None,
                False,
                [],
                [],
                [],
                None,
                _docstring_head(tree.body),
            )
        )
        self.module_span = span
        self.visit_all(tree.body)

    # ------------------------------------------------------------------ defs
    def _def_row(
        self,
        node: Any,
        kind: str,
        name: str,
        span: Span,
        name_span: tuple[int | None, int | None],
        decorators: list[str],
        bases: list[str],
        class_keywords: list[str],
        returns: str | None,
        docstring: str | None,
    ) -> tuple[str, str, str]:
        def_id = self.make_id("def", span)
        scope_id = f"scope:{self.path}:{span[4]}:{span[5]}"
        qual = self.child_qual(name)
        self.defs.append(
            (
                def_id,
                kind,
                name,
                qual,
                f"{self.module}.{qual}",
                self.def_id,
                scope_id,
                self.scope_id,
                self.path,
                self.module,
                *span,
                name_span[0],
                name_span[1],
                self.kind == "class" and kind != "class" and kind != "lambda",
                decorators,
                bases,
                class_keywords,
                returns,
                docstring,
            )
        )
        st_name = "lambda" if kind == "lambda" else name
        scope_kind = "function" if kind == "async_function" else kind
        self.register(self.scope_id, st_name, node.lineno, (scope_id, def_id, scope_kind, span))
        return def_id, scope_id, qual

    def _name_span(self, node: Any, keyword: bytes, name: str) -> tuple[int | None, int | None]:
        """Byte span of the name after ``def``/``class`` (None if it cannot be found)."""
        start = self.starts[node.lineno - 1] + node.col_offset
        pos = self.src.find(keyword, start)
        found = self.ident_after(pos + len(keyword), name) if pos >= 0 else None
        if found is None:
            return None, None
        return found[0] + self.base, found[1] + self.base

    def _outer_args(self, args: ast.arguments, annotations: bool) -> None:
        """Defaults, then annotations, in symtable order (``**kwarg`` before keyword-only)."""
        self.visit_all(args.defaults)
        self.visit_all(args.kw_defaults)
        if not annotations:
            return
        saved = self.in_annotation
        self.in_annotation = True
        for a in args.posonlyargs:
            if a.annotation is not None:
                self.visit(a.annotation)
        for a in args.args:
            if a.annotation is not None:
                self.visit(a.annotation)
        if args.vararg is not None and args.vararg.annotation is not None:
            self.visit(args.vararg.annotation)
        if args.kwarg is not None and args.kwarg.annotation is not None:
            self.visit(args.kwarg.annotation)
        for a in args.kwonlyargs:
            if a.annotation is not None:
                self.visit(a.annotation)
        self.in_annotation = saved

    def _params(self, args: ast.arguments, def_id: str, scope_id: str) -> None:
        positional = [*args.posonlyargs, *args.args]
        n_pos_plain = len(positional) - len(args.defaults)
        position = 0
        rows = self.params
        for i, a in enumerate(positional):
            kind = "posonly" if i < len(args.posonlyargs) else "positional"
            default = args.defaults[i - n_pos_plain] if i >= n_pos_plain else None
            rows.append(self._param_row(a, kind, position, default, def_id, scope_id))
            position += 1
        if args.vararg is not None:
            rows.append(self._param_row(args.vararg, "vararg", position, None, def_id, scope_id))
            position += 1
        for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            rows.append(self._param_row(a, "kwonly", position, default, def_id, scope_id))
            position += 1
        if args.kwarg is not None:
            rows.append(self._param_row(args.kwarg, "kwarg", position, None, def_id, scope_id))

    def _param_row(
        self, a: ast.arg, kind: str, position: int, default: Any, def_id: str, scope_id: str
    ) -> Row:
        span = self.span(a)
        param_id = self.make_id("param", span)
        if default is not None:
            src = self.eid(default)
            if src is not None:
                self.fact("default", param_id, src)
        return (
            param_id,
            def_id,
            scope_id,
            self.path,
            a.arg,
            kind,
            position,
            self.text(a.annotation) if a.annotation is not None else None,
            default is not None,
            self.text(default) if default is not None else None,
            *span,
        )

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """A ``def``/``async def``: outer parts, the def row, then params and body in its scope."""
        args = node.args
        self._outer_args(args, annotations=True)
        if node.returns is not None:
            saved = self.in_annotation
            self.in_annotation = True
            self.visit(node.returns)
            self.in_annotation = saved
        self.visit_all(node.decorator_list)
        is_async = node.__class__ is ast.AsyncFunctionDef
        kind = "async_function" if is_async else "function"
        span = self.span(node)
        def_id, scope_id, qual = self._def_row(
            node,
            kind,
            node.name,
            span,
            self._name_span(node, b"def", node.name),
            [self.text(d) for d in node.decorator_list],
            [],
            [],
            self.text(node.returns) if node.returns is not None else None,
            _docstring_head(node.body),
        )
        self.decorator_facts(node.decorator_list, def_id)
        saved = self._enter(scope_id, def_id, qual, kind)
        self._params(args, def_id, scope_id)
        self.visit_all(node.body)
        self._leave(saved)

    def lambda_(self, node: ast.Lambda) -> None:
        """A lambda: defaults outside, params and body inside its own scope."""
        args = node.args
        self._outer_args(args, annotations=False)
        span = self.span(node)
        def_id, scope_id, qual = self._def_row(
            node, "lambda", "<lambda>", span, (None, None), [], [], [], None, None
        )
        body = self.eid(node.body)
        if body is not None:
            self.fact("return", def_id, body)
        saved = self._enter(scope_id, def_id, qual, "lambda")
        self._params(args, def_id, scope_id)
        self.visit(node.body)
        self._leave(saved)

    def class_(self, node: ast.ClassDef) -> None:
        """A class: bases, keywords, decorators outside; body in the class scope."""
        self.visit_all(node.bases)
        for kw in node.keywords:
            self.visit(kw.value)
        self.visit_all(node.decorator_list)
        span = self.span(node)
        def_id, scope_id, qual = self._def_row(
            node,
            "class",
            node.name,
            span,
            self._name_span(node, b"class", node.name),
            [self.text(d) for d in node.decorator_list],
            [self.text(b) for b in node.bases],
            [self.text(k) for k in node.keywords],
            None,
            _docstring_head(node.body),
        )
        self.decorator_facts(node.decorator_list, def_id)
        saved = self._enter(scope_id, def_id, qual, "class")
        self.visit_all(node.body)
        self._leave(saved)

    def comprehension(self, node: Any, st_name: str, tail: tuple[Any, ...]) -> None:
        """A comprehension scope: first iterable outside, the rest inside, symtable order."""
        gens: list[ast.comprehension] = node.generators
        self.comprehension_facts(node, tail[0])
        self.visit(gens[0].iter)
        span = self.span(node)
        scope_id = self.make_id("scope", span)
        self.register(
            self.scope_id, st_name, node.lineno, (scope_id, self.def_id, "comprehension", span)
        )
        saved = self._enter(scope_id, None, None, None)
        first = gens[0]
        self.visit(first.target)
        self.visit_all(first.ifs)
        for gen in gens[1:]:
            self.visit(gen.target)
            self.visit(gen.iter)
            self.visit_all(gen.ifs)
        for expr in tail:
            self.visit(expr)
        self._leave(saved)


def _docstring_head(body: list[ast.stmt]) -> str | None:
    """First non-blank line of a docstring, stripped and capped, or None."""
    if not body:
        return None
    first = body[0]
    if first.__class__ is not ast.Expr:
        return None
    value = cast(ast.Expr, first).value
    if value.__class__ is not ast.Constant:
        return None
    text = cast(ast.Constant, value).value
    if not isinstance(text, str):
        return None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped[:DOCSTRING_HEAD_CHARS]
    return ""
