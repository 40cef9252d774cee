"""Reference handlers of the AST walk: names, attribute chains, calls, imports, bare bindings."""

from __future__ import annotations

import ast
import re
from typing import Any, cast

from cpg_core.extract.modules import resolve_relative
from cpg_core.extract.walk_base import Span
from cpg_core.extract.walk_flows import BINOP_NAMES, FlowsWalker

_CTX: dict[type, str] = {ast.Load: "load", ast.Store: "store", ast.Del: "del"}
_LAST_IDENT = re.compile(r"(\w+)\s*$")
_CALLEE_KINDS: dict[type, str] = {
    ast.Call: "call",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
}


class RefsWalker(FlowsWalker):
    """Rows of ``refs``, ``calls`` and ``imports``."""

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
            ref_id = self.ref(
                node, "chain", cur.id, chain, node.attr, len(parts), ctx, augmented, is_callee
            )
            self.chain_loads(node, ref_id, ctx == "load" or augmented)
            return ref_id
        first = self.ref(node, "attribute", None, None, node.attr, 0, ctx, augmented, is_callee)
        if ctx == "load" or augmented:
            self.attribute_load(node, first)
        inner: Any = node.value
        while inner.__class__ is ast.Attribute:
            self.attribute_load(
                inner, self.ref(inner, "attribute", None, None, inner.attr, 0, "load")
            )
            inner = inner.value
        self.visit(cur)
        return first

    def aug_assign(self, node: ast.AugAssign) -> None:
        """``x += v`` both reads and writes ``x``: its ref is a store marked ``augmented``.

        Flow: a site calling ``__iadd__`` (or ``__add__``) whose result the target gets; on a list,
        v's elements join the list.
        """
        target = node.target
        self._aug_facts(node)
        if target.__class__ is ast.Name:
            self.name(cast(ast.Name, target), augmented=True)
        elif target.__class__ is ast.Attribute:
            self.attribute(cast(ast.Attribute, target), augmented=True)
        else:
            self.visit(target)
        self.visit(node.value)

    def _aug_facts(self, node: ast.AugAssign) -> None:
        target: Any = node.target
        op = BINOP_NAMES.get(node.op.__class__)
        value = self.eid(node.value)
        if target.__class__ not in (ast.Name, ast.Attribute) or op is None:
            return
        site = self.site("operator", self._start(node), self._end(node), f"__i{op}__")
        self.fact("operator", site, self._id("ref", target), f"__i{op}__", 0)
        if value is not None:
            self.fact("operator_arg", site, value, None, 0)
        self.bind_target(target, site)

    def ann_assign(self, node: ast.AnnAssign) -> None:
        """Annotated assignment: the annotation is visited as an annotation."""
        if node.value is not None:
            self.assign_value([node.target], node.value)
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
                    target_id = self._bare_binding(node.name, "except_as", as_pos + 2)
                    if target_id is not None:
                        self.except_as(node, target_id)
        self.visit_all(node.body)

    def _bare_binding(self, ident: str, ref_kind: str, pos: int) -> str | None:
        """A binding written as a bare identifier that is not an ``ast.Name`` node; its ref id."""
        found = self.ident_after(pos, ident) if pos >= 0 else None
        if found is None:
            return None
        span = self._span_of_bytes(*found)
        return self.ref(None, ref_kind, ident, ident, None, 1, "store", span=span)

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
        call_id = self.make_id("call", span)
        self.call_facts(node, call_id, callee_kind, callee_name)
        self.calls.append(
            (
                call_id,
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
