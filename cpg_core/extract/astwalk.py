"""One pass over a module's ``ast`` producing defs, params, refs, calls and imports rows.

The walk visits every node in the order CPython's symtable visits it (defaults, annotations and
decorators in the enclosing scope before the new block; a comprehension's first iterable outside it;
dict-comprehension values before keys), so scopes can later be aligned with symtable children by
(parent scope, name, line) even when several share a line. It is a hand-rolled dispatch rather than
``ast.NodeVisitor`` because this is the hot path of extraction.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from cpg_core.extract.modules import resolve_relative
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


class Walker:
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
        _DISPATCH.get(node.__class__, Walker.generic)(self, node)

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
        return (
            self.make_id("param", span),
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
        saved = self._enter(scope_id, def_id, qual, "class")
        self.visit_all(node.body)
        self._leave(saved)

    def comprehension(self, node: Any, st_name: str, tail: tuple[Any, ...]) -> None:
        """A comprehension scope: first iterable outside, the rest inside, symtable order."""
        gens: list[ast.comprehension] = node.generators
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

    # ------------------------------------------------------------------ refs
    def ref(
        self,
        node: Any,
        ref_kind: str,
        name: str | None,
        chain: str | None,
        attr: str | None,
        n_parts: int,
        ctx: str,
        augmented: bool = False,
        is_callee: bool = False,
        span: Span | None = None,
    ) -> str:
        """Append one refs row; returns its id."""
        if span is None:
            span = self.span(node)
        ref_id = self.make_id("ref", span)
        self.refs.append(
            (
                ref_id,
                self.path,
                self.scope_id,
                self.def_id,
                ref_kind,
                name,
                chain,
                attr,
                n_parts,
                ctx,
                augmented,
                is_callee,
                self.in_annotation,
                *span,
            )
        )
        return ref_id

    def name(self, node: ast.Name, augmented: bool = False, is_callee: bool = False) -> str:
        """A bare name (the hottest row: spans and id inlined; a name never spans lines)."""
        line = node.lineno
        col = node.col_offset
        end_col = node.end_col_offset or col
        start = self.starts[line - 1] + self.base
        bstart = start + col
        bend = start + end_col
        ref_id = f"ref:{self.path}:{bstart}:{bend}"
        seen = self.seen_ids
        if ref_id in seen:
            ref_id = self._dedupe(ref_id)
        seen.add(ref_id)
        if not self.ascii:
            col = self.index.char_col(line, col)
            end_col = self.index.char_col(line, end_col)
        ident = node.id
        self.refs.append(
            (
                ref_id,
                self.path,
                self.scope_id,
                self.def_id,
                "name",
                ident,
                ident,
                None,
                1,
                _CTX[node.ctx.__class__],
                augmented,
                is_callee,
                self.in_annotation,
                line,
                col,
                line,
                end_col,
                bstart,
                bend,
            )
        )
        return ref_id

    def attribute(
        self, node: ast.Attribute, augmented: bool = False, is_callee: bool = False
    ) -> str:
        """A pure ``a.b.c`` chain is one ref; attributes of other expressions one ref each."""
        parts = [node.attr]
        cur: Any = node.value
        while cur.__class__ is ast.Attribute:
            parts.append(cur.attr)
            cur = cur.value
        ctx = _CTX[node.ctx.__class__]
        if cur.__class__ is ast.Name:
            parts.append(cur.id)
            parts.reverse()
            chain = ".".join(parts)
            return self.ref(
                node, "chain", cur.id, chain, node.attr, len(parts), ctx, augmented, is_callee
            )
        first = self.ref(node, "attribute", None, None, node.attr, 0, ctx, augmented, is_callee)
        inner: Any = node.value
        while inner.__class__ is ast.Attribute:
            self.ref(inner, "attribute", None, None, inner.attr, 0, "load")
            inner = inner.value
        self.visit(cur)
        return first

    def aug_assign(self, node: ast.AugAssign) -> None:
        """``x += v`` both reads and writes ``x``: its ref is a store marked ``augmented``."""
        target = node.target
        if target.__class__ is ast.Name:
            self.name(target, augmented=True)  # type: ignore[arg-type]
        elif target.__class__ is ast.Attribute:
            self.attribute(target, augmented=True)  # type: ignore[arg-type]
        else:
            self.visit(target)
        self.visit(node.value)

    def ann_assign(self, node: ast.AnnAssign) -> None:
        """Annotated assignment: the annotation is visited as an annotation."""
        self.visit(node.target)
        saved = self.in_annotation
        self.in_annotation = True
        self.visit(node.annotation)
        self.in_annotation = saved
        if node.value is not None:
            self.visit(node.value)

    def except_handler(self, node: ast.ExceptHandler) -> None:
        """``except E as name``: the name is a store of kind ``except_as``."""
        if node.type is not None:
            self.visit(node.type)
            if node.name is not None:
                typ: Any = node.type
                after = self.starts[typ.end_lineno - 1] + typ.end_col_offset
                as_pos = self.src.find(b"as", after)
                if as_pos >= 0:
                    self._bare_binding(node.name, "except_as", as_pos + 2)
        self.visit_all(node.body)

    def _bare_binding(self, ident: str, ref_kind: str, pos: int) -> None:
        """A binding written as a bare identifier that is not an ``ast.Name`` node."""
        found = self.ident_after(pos, ident) if pos >= 0 else None
        if found is not None:
            span = self._span_of_bytes(*found)
            self.ref(None, ref_kind, ident, ident, None, 1, "store", span=span)

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

    def match_capture(self, node: Any) -> None:
        """Capture names in ``case`` patterns (``x``, ``*rest``, ``**rest``, ``... as y``)."""
        self.generic(node)
        start = self.starts[node.lineno - 1] + node.col_offset
        if node.__class__ is ast.MatchMapping:
            if node.rest is not None:
                end = self.starts[node.end_lineno - 1] + node.end_col_offset
                stars = self.src.rfind(b"**", start, end)
                self._bare_binding(node.rest, "match_capture", stars + 2 if stars >= 0 else -1)
            return
        name = node.name
        if name is None:
            return
        if node.__class__ is ast.MatchStar:
            self._bare_binding(name, "match_capture", start + 1)
        elif node.pattern is None:  # ``case x:``: the node is the name itself
            self._bare_binding(name, "match_capture", start)
        else:  # ``<pattern> as name``: the name is the last token
            end = self.starts[node.end_lineno - 1] + node.end_col_offset
            tail = self.src[start:end].decode("utf-8", "replace")
            m = _LAST_IDENT.search(tail)
            if m is not None:
                pos = start + len(tail[: m.start(1)].encode("utf-8"))
                self._bare_binding(name, "match_capture", pos)

    # ------------------------------------------------------------------ calls, imports
    def call(self, node: ast.Call) -> None:
        """A call row (callee described by text when it is a name/attribute chain), then children."""
        func: Any = node.func
        fcls = func.__class__
        callee_text = callee_name = receiver_call = callee_ref = None
        if fcls is ast.Name:
            callee_kind = "name"
            callee_text = callee_name = func.id
            callee_ref = self.name(func, is_callee=True)
        elif fcls is ast.Attribute:
            callee_kind = "attribute"
            callee_name = func.attr
            callee_text = _chain_text(func)
            receiver = func.value
            if callee_text is None and receiver.__class__ is ast.Call:
                receiver_call = _chain_text(receiver.func)
            callee_ref = self.attribute(func, is_callee=True)
        else:
            callee_kind = _CALLEE_KINDS.get(fcls, "other")
        span = self.span(node)
        args = node.args
        keywords = node.keywords
        star_args = False
        for a in args:
            if a.__class__ is ast.Starred:
                star_args = True
                break
        kw_names: list[str] = []
        star_kwargs = False
        for k in keywords:
            if k.arg is None:
                star_kwargs = True
            else:
                kw_names.append(k.arg)
        self.calls.append(
            (
                self.make_id("call", span),
                self.path,
                self.scope_id,
                self.def_id,
                callee_kind,
                callee_text,
                callee_name,
                callee_ref,
                receiver_call,
                len(args),
                len(keywords),
                kw_names,
                star_args,
                star_kwargs,
                *span,
            )
        )
        if callee_ref is None:
            self.visit(func)
        self.visit_all(args)
        for kw in keywords:
            self.visit(kw.value)

    def import_(self, node: ast.Import) -> None:
        """``import a.b [as c]``: binds ``a`` (or ``c``) to module ``a`` (or ``a.b``)."""
        for alias in node.names:
            name = alias.name
            asname = alias.asname
            top = name.partition(".")[0]
            self._import_row(
                alias, "import", name, 0, None, asname, asname or top, name, name,
                name if asname else top, False,
            )  # fmt: skip

    def import_from(self, node: ast.ImportFrom) -> None:
        """``from [.]m import f [as g]``: relative modules resolved against this file's package."""
        level = node.level or 0
        target_module = resolve_relative(self.module, self.is_package, level, node.module)
        for alias in node.names:
            name = alias.name
            asname = alias.asname
            if name == "*":
                self._import_row(
                    alias, "from", node.module, level, name, asname, None, target_module, None,
                    None, True,
                )  # fmt: skip
                continue
            target = f"{target_module}.{name}" if target_module else None
            self._import_row(
                alias, "from", node.module, level, name, asname, asname or name, target_module,
                target, target, False,
            )  # fmt: skip

    def _import_row(
        self,
        alias: ast.alias,
        kind: str,
        module: str | None,
        level: int,
        name: str | None,
        asname: str | None,
        bound: str | None,
        target_module: str | None,
        target: str | None,
        bound_target: str | None,
        is_star: bool,
    ) -> None:
        span = self.span(alias)
        self.imports.append(
            (
                self.make_id("import", span),
                self.path,
                self.scope_id,
                self.def_id,
                kind,
                module,
                level,
                name,
                asname,
                bound,
                target_module,
                target,
                bound_target,
                is_star,
                *span,
            )
        )


_IDENT_AFTER = re.compile(r"(?:\s|\\\r?\n)*(\w+)")
_LAST_IDENT = re.compile(r"(\w+)\s*$")


def _same_ident(text: str, name: str) -> bool:
    return text == name or unicodedata.normalize("NFKC", text) == name


def _chain_text(node: Any) -> str | None:
    """Dotted text of a pure name/attribute chain, else None."""
    parts: list[str] = []
    while node.__class__ is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if node.__class__ is not ast.Name:
        return None
    parts.append(node.id)
    parts.reverse()
    return ".".join(parts)


def _docstring_head(body: list[ast.stmt]) -> str | None:
    """First non-blank line of a docstring, stripped and capped, or None."""
    if not body:
        return None
    first = body[0]
    if first.__class__ is not ast.Expr:
        return None
    value = first.value  # type: ignore[attr-defined]
    if value.__class__ is not ast.Constant or not isinstance(value.value, str):
        return None
    for line in value.value.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped[:DOCSTRING_HEAD_CHARS]
    return ""


def _noop(self: Walker, node: Any) -> None:
    return None


_CALLEE_KINDS: dict[type, str] = {
    ast.Call: "call",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
}

_DISPATCH: dict[type, Callable[[Walker, Any], object]] = {
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
