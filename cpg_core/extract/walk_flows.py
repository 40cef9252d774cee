"""Value-flow facts of the AST walk: the per-file edges of the assignment graph (``flows``) and the
implicit call sites (``sites``: ``for``, ``with``, ``raise``, operators, subscripts, decorators).

Facts name expressions by id, computed from the node's span the way the walk names its rows:
``ref:`` for names and attributes (the ``refs`` row), ``call:`` for calls and implicit call sites,
``def:`` for lambdas, ``expr:`` for anything else. A fact never needs the walk's visiting order, so
handlers emit facts first and then visit children exactly as before. Expressions that cannot hold
a function, class, instance or container (constants, f-strings, ``not x``) get no id and no facts.
docs/evidence_tables.md ("flows", "sites") lists every fact kind; docs/cpg_schema.md the analysis.
"""

from __future__ import annotations

import ast
from typing import Any

from cpg_core.extract.walk_base import Span, WalkerBase

_NO_VALUE = (ast.Constant, ast.JoinedStr)
_PREFIX: dict[type, str] = {
    ast.Name: "ref",
    ast.Attribute: "ref",
    ast.Call: "call",
    ast.Lambda: "def",
    ast.BinOp: "call",
    ast.Compare: "call",
    ast.Subscript: "call",
    ast.UnaryOp: "call",
}
BINOP_NAMES: dict[type, str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.MatMult: "matmul", ast.Div: "truediv",
    ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.Pow: "pow", ast.LShift: "lshift",
    ast.RShift: "rshift", ast.BitOr: "or", ast.BitXor: "xor", ast.BitAnd: "and",
}  # fmt: skip
_UNARY: dict[type, str] = {ast.USub: "__neg__", ast.UAdd: "__pos__", ast.Invert: "__invert__"}
# (dunder, called on the right operand) per comparison operator
_COMPARE: dict[type, tuple[str, bool]] = {
    ast.Eq: ("__eq__", False), ast.NotEq: ("__ne__", False), ast.Lt: ("__lt__", False),
    ast.LtE: ("__le__", False), ast.Gt: ("__gt__", False), ast.GtE: ("__ge__", False),
    ast.In: ("__contains__", True), ast.NotIn: ("__contains__", True),
}  # fmt: skip
_CONST_ARG_CALLEES = frozenset(
    {"getattr", "setattr", "hasattr", "delattr", "get", "pop", "setdefault"}
)
_CONTAINER_KIND: dict[type, str] = {
    ast.List: "list", ast.Tuple: "tuple", ast.Set: "set", ast.Dict: "dict", ast.ListComp: "list",
    ast.SetComp: "set", ast.DictComp: "dict", ast.GeneratorExp: "generator",
}  # fmt: skip


def const_key(node: Any) -> str | None:
    """``s:<text>`` / ``i:<int>`` for a constant string or non-negative int key, else None."""
    if node.__class__ is not ast.Constant:
        return None
    value = node.value
    if isinstance(value, str):
        return f"s:{value}"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return f"i:{value}"
    return None


class FlowsWalker(WalkerBase):
    """Rows of ``flows`` and ``sites``."""

    # ------------------------------------------------------------------ ids and rows
    def eid(self, node: Any) -> str | None:
        """The flow-node id of an expression, or None when it cannot hold a tracked value."""
        cls = node.__class__
        if cls in _NO_VALUE:
            return None
        if cls is ast.UnaryOp and node.op.__class__ is ast.Not:
            return None
        if cls is ast.Starred:
            return self.eid(node.value)
        return self._id(_PREFIX.get(cls, "expr"), node)

    def _id(self, prefix: str, node: Any) -> str:
        starts = self.starts
        bstart = starts[node.lineno - 1] + node.col_offset + self.base
        bend = starts[node.end_lineno - 1] + node.end_col_offset + self.base
        return f"{prefix}:{self.path}:{bstart}:{bend}"

    def fact(
        self, kind: str, node_id: str, src_id: str | None, name: str | None = None,
        pos: int | None = None,
    ) -> None:  # fmt: skip
        """Append one ``flows`` row."""
        self.flows.append((self.path, kind, node_id, src_id, name, pos))

    def site(self, kind: str, start: int, end: int, name: str | None = None) -> str:
        """Append an implicit call site spanning source bytes ``[start, end)``; returns its id."""
        span: Span = self._span_of_bytes(start, end)
        site_id = f"call:{self.path}:{span[4]}:{span[5]}"
        self.sites.append((site_id, self.path, self.def_id, kind, name, *span))
        return site_id

    def _start(self, node: Any) -> int:
        return self.starts[node.lineno - 1] + node.col_offset

    def _end(self, node: Any) -> int:
        return self.starts[node.end_lineno - 1] + node.end_col_offset

    # ------------------------------------------------------------------ targets
    def bind_target(self, target: Any, src: str) -> None:
        """Facts for ``target = <value held by src>`` (names, attributes, subscripts, unpacking)."""
        cls = target.__class__
        if cls is ast.Name:
            self.fact("assign", self._id("ref", target), src)
        elif cls is ast.Attribute:
            self._store_attr(target, src)
        elif cls is ast.Subscript:
            self._setitem(target, src)
        elif cls is ast.Tuple or cls is ast.List:
            self._unpack(target.elts, src)
        elif cls is ast.Starred:
            self.bind_target(target.value, src)

    def _setitem(self, target: ast.Subscript, src: str | None) -> None:
        """``x[k] = v``: x's ``__setitem__`` is called and v flows into x's elements; a value
        that holds nothing (a constant, src None) is stood for by the site itself."""
        site = self.site("setitem", self._start(target), self._end(target))
        base = self.eid(target.value)
        if base is not None:
            self.fact("setitem", site, base, const_key(target.slice))
            self.fact("setitem_value", site, src or site)

    def _unpack(self, elts: list[Any], src: str) -> None:
        """``a, (b, *c) = src``: element i of src flows to target i (after a starred one: any element)."""
        star = next((i for i, e in enumerate(elts) if e.__class__ is ast.Starred), len(elts))
        for i, elt in enumerate(elts):
            target = elt.value if elt.__class__ is ast.Starred else elt
            if target.__class__ is ast.Name:
                holder = self._id("ref", target)
            else:
                holder = self._id("expr", target)
            kind = "unpack_all" if i == star else "unpack"
            self.fact(kind, holder, src, None, i if i < star else None)
            if target.__class__ is not ast.Name:
                self.bind_target(target, holder)

    def _store_attr(self, target: ast.Attribute, src: str) -> None:
        base: Any = target.value
        if base.__class__ is ast.Name:  # `a.x = v`: the chain's root binding holds the object
            self.fact("store_root", self._id("ref", target), src, target.attr)
        elif _is_chain(base):  # `a.b.x = v`: the prefix `a.b` (loaded by the chain's facts)
            self.fact("store", self._id("expr", base), src, target.attr)
        else:
            base_id = self.eid(base)
            if base_id is not None:
                self.fact("store", base_id, src, target.attr)

    def assign_value(self, targets: list[Any], value: Any) -> None:
        """``t1 = t2 = value``; a display unpacked into a same-shaped target flows pairwise."""
        src = self.eid(value)
        for target in targets:
            if _pairwise(target, value):
                for t, v in zip(target.elts, value.elts, strict=True):
                    vid = self.eid(v)
                    if vid is not None:
                        self.bind_target(t, vid)
            elif src is not None:
                self.bind_target(target, src)
            elif target.__class__ is ast.Subscript:
                self._setitem(target, None)

    # ------------------------------------------------------------------ expressions
    def chain_loads(self, node: ast.Attribute, ref_id: str, final_load: bool) -> None:
        """Loads along ``a.b.c``: ``a.b`` from a's binding, ``a.b.c`` (the ref) from ``a.b``."""
        nodes: list[ast.Attribute] = []
        cur: Any = node
        while cur.__class__ is ast.Attribute:
            nodes.append(cur)
            cur = cur.value
        nodes.reverse()  # nodes[0] is `a.b`, nodes[-1] the whole chain
        last = len(nodes) - 1
        prev = ref_id
        for k, attr_node in enumerate(nodes):
            if k == last and not final_load:
                return
            here = ref_id if k == last else self._id("expr", attr_node)
            self.fact("load_root" if k == 0 else "load", here, prev, attr_node.attr)
            prev = here

    def attribute_load(self, node: ast.Attribute, ref_id: str) -> None:
        """``<expr>.attr`` (not a pure chain): the ref holds attr of the expression's value."""
        base = self.eid(node.value)
        if base is not None:
            self.fact("load", ref_id, base, node.attr)

    def call_facts(self, node: ast.Call, call_id: str, callee_kind: str, name: str | None) -> None:
        """The callee (when it is not a name/attribute ref) and every argument that can hold a value."""
        if callee_kind not in ("name", "attribute"):
            callee = self.eid(node.func)
            if callee is not None:
                self.fact("callee", call_id, callee)
        const_args = name in _CONST_ARG_CALLEES
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                src = self.eid(arg.value)
                if src is not None:
                    self.fact("arg_star", call_id, src, None, i)
                continue
            src = self.eid(arg)
            if src is not None:
                self.fact("arg", call_id, src, None, i)
            elif const_args and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self.fact("arg_const", call_id, None, arg.value, i)
        for kw in node.keywords:
            src = self.eid(kw.value)
            if src is None:
                continue
            if kw.arg is None:
                self.fact("arg_kwstar", call_id, src)
            else:
                self.fact("arg", call_id, src, kw.arg)

    def display(self, node: Any) -> None:
        """A list/tuple/set/dict display: a container whose elements are its items."""
        if getattr(node, "ctx", None) is not None and node.ctx.__class__ is not ast.Load:
            return
        if node.__class__ is ast.Dict:
            items = list(zip(node.keys, node.values, strict=True))
        else:
            items = [(None, e) for e in node.elts]
        facts: list[tuple[str, str, str | None]] = []
        keyed = True
        for i, (key, value) in enumerate(items):
            if node.__class__ is not ast.Dict and value.__class__ is ast.Starred:
                keyed = False
                src = self.eid(value.value)
                if src is not None:
                    facts.append(("elem_all", src, None))
                continue
            if node.__class__ is ast.Dict and key is None:  # `**d`
                src = self.eid(value)
                if src is not None:
                    facts.append(("elem_all", src, None))
                continue
            src = self.eid(value)
            if src is None:
                continue
            index = const_key(key) if key is not None else (f"i:{i}" if keyed else None)
            facts.append(("elem", src, index))
        if items and not facts:
            return  # only constants: nothing a call could reach
        cid = self._id("expr", node)
        self.fact("container", cid, None, _CONTAINER_KIND[node.__class__])
        for kind, src, index in facts:
            self.fact(kind, cid, src, index)

    def comprehension_facts(self, node: Any, element: Any) -> None:
        """A comprehension: a container of its element; each `for` clause iterates its iterable."""
        cid = self._id("expr", node)
        self.fact("container", cid, None, _CONTAINER_KIND[node.__class__])
        src = self.eid(element)
        if src is not None:
            self.fact("elem", cid, src)
        for gen in node.generators:
            self.iteration("for", gen.target, gen.iter, self._start(gen.target))

    def iteration(self, kind: str, target: Any, iterable: Any, start: int) -> None:
        """``for target in iterable``: a site (``__iter__``/``__next__``) whose values reach target."""
        src = self.eid(iterable)
        if src is None:
            return
        site = self.site(kind, start, self._end(iterable))
        self.fact("for_iter", site, src)
        self.bind_target(target, site)

    def operator_facts(self, node: Any) -> None:
        """Binary, unary and comparison operators: a site calling the operand's dunder method."""
        cls = node.__class__
        pairs: list[tuple[str, Any, Any]] = []  # (dunder, receiver, argument)
        if cls is ast.BinOp:
            op = BINOP_NAMES.get(node.op.__class__)
            if op is not None:
                pairs.append((f"__{op}__", node.left, node.right))
        elif cls is ast.UnaryOp:
            dunder = _UNARY.get(node.op.__class__)
            if dunder is not None:
                pairs.append((dunder, node.operand, None))
        else:
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                found = _COMPARE.get(op.__class__)
                if found is not None:
                    dunder, swapped = found
                    pairs.append((dunder, right, left) if swapped else (dunder, left, right))
                left = right
        site: str | None = None
        for i, (dunder, receiver, argument) in enumerate(pairs):
            recv = self.eid(receiver)
            if recv is None:
                continue
            if site is None:
                site = self.site("operator", self._start(node), self._end(node), dunder)
            self.fact("operator", site, recv, dunder, i)
            arg = self.eid(argument) if argument is not None else None
            if arg is not None:
                self.fact("operator_arg", site, arg, None, i)

    def subscript_load(self, node: ast.Subscript) -> None:
        """``x[k]``: element k of a container, or ``__getitem__`` of an instance; a slice keeps x's elements."""
        if node.ctx.__class__ is not ast.Load:
            return
        base = self.eid(node.value)
        if base is None:
            return
        if node.slice.__class__ is ast.Slice:
            self.fact("flow", self._id("call", node), base)
            return
        site = self.site("getitem", self._start(node), self._end(node))
        self.fact("getitem", site, base, const_key(node.slice))
        key = self.eid(node.slice)
        if key is not None:
            self.fact("getitem_key", site, key)

    def flow_from(self, node: Any, values: list[Any]) -> None:
        """The expression's value is one of ``values`` (``a if c else b``, ``a or b``, ``await a``)."""
        nid = self._id("expr", node)
        for value in values:
            src = self.eid(value)
            if src is not None:
                self.fact("flow", nid, src)

    # ------------------------------------------------------------------ statements
    def return_value(self, value: Any) -> None:
        src = self.eid(value) if value is not None else None
        if src is not None:
            self.fact("return", self.def_id, src)

    def yield_value(self, node: ast.Yield | ast.YieldFrom) -> None:
        """A ``yield`` makes the function a generator; its value is an element of the generator.
        ``yield from g`` also has a value: what g's generator function returns, which the call
        g holds (beside the generator itself: the analysis is flow-insensitive)."""
        src = self.eid(node.value) if node.value is not None else None
        if node.__class__ is ast.YieldFrom:
            self.fact("yield_from", self.def_id, src)
            value = self.eid(node)
            if src is not None and value is not None:
                self.fact("flow", value, src)
        else:
            self.fact("yield", self.def_id, src)

    def with_items(self, node: ast.With | ast.AsyncWith) -> None:
        """Each ``with`` item is a site calling ``__enter__``/``__exit__``; ``as x`` gets __enter__'s value."""
        kind = "async_with" if node.__class__ is ast.AsyncWith else "with"
        start = self._start(node)
        for item in node.items:
            ctx = self.eid(item.context_expr)
            if ctx is None:
                continue
            last = item.optional_vars if item.optional_vars is not None else item.context_expr
            site = self.site(kind, start, self._end(last))
            self.fact("with_ctx", site, ctx)
            if item.optional_vars is not None:
                self.bind_target(item.optional_vars, site)

    def raise_facts(self, node: ast.Raise) -> None:
        """``raise C``: a site instantiating C when the raised name or chain is a class."""
        exc = node.exc
        if exc is None or exc.__class__ not in (ast.Name, ast.Attribute):
            return
        src = self.eid(exc)
        if src is not None:
            site = self.site("raise", self._start(node), self._end(node))
            self.fact("raise", site, src)

    def except_as(self, handler: ast.ExceptHandler, target_id: str) -> None:
        """``except E as e``: e holds an instance of each class E names."""
        typ: Any = handler.type
        types = typ.elts if typ.__class__ is ast.Tuple else [typ]
        for t in types:
            src = self.eid(t)
            if src is not None:
                self.fact("except_as", target_id, src)

    def decorator_facts(self, decorators: list[Any], def_id: str) -> None:
        """Decorators are calls at definition time, innermost first; the name binds the outermost result."""
        if not decorators:
            return
        sites: list[str] = []
        for deco in decorators:
            at = self.src.rfind(b"@", 0, self._start(deco))
            sites.append(self.site("decorator", at, self._end(deco), self.text(deco)))
        for k, deco in enumerate(decorators):
            callee = self.eid(deco)
            if callee is not None:
                self.fact("callee", sites[k], callee)
            self.fact("arg", sites[k], sites[k + 1] if k + 1 < len(sites) else def_id, None, 0)
        self.fact("bind_def", def_id, sites[0])


def _is_chain(node: Any) -> bool:
    while node.__class__ is ast.Attribute:
        node = node.value
    return node.__class__ is ast.Name


def _pairwise(target: Any, value: Any) -> bool:
    """``a, b = x, y``: same-length displays without starred items."""
    kinds = (ast.Tuple, ast.List)
    return (
        target.__class__ in kinds
        and value.__class__ in kinds
        and len(target.elts) == len(value.elts)
        and not any(e.__class__ is ast.Starred for e in (*target.elts, *value.elts))
    )
