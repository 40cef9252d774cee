"""A generator of random read-only queries over random schemas, for the differential test.

Written for cpg from the shapes issue 17 lists (no other project's tests): joins of every kind
(inner, left, right, full, cross, left/right semi and anti), set operations with ORDER BY by
name and by position, qualified stars, VALUES (joined and bare), CTEs, subqueries in FROM and
WHERE (IN, EXISTS), windows, aggregates, unnest of a list column and struct field access.
Every table has an `id` column (small integers, so joins match); other columns are drawn.
Expressions avoid run-time errors (no division, no casts that can fail): a query either plans
and runs in DataFusion or does not plan at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
from hypothesis import strategies as st

KINDS = ("int", "float", "text", "bool")
ARROW = {
    "int": pa.int64(),
    "float": pa.float64(),
    "text": pa.string(),
    "bool": pa.bool_(),
    "list": pa.list_(pa.string()),
    "struct": pa.struct([("k", pa.int64()), ("name", pa.string())]),
}
JOINS = (
    "join",
    "left join",
    "right join",
    "full join",
    "left semi join",
    "left anti join",
    "right semi join",
    "right anti join",
)


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str]]  # (name, kind); the first is ("id", "int")

    def of_kind(self, *kinds: str) -> list[str]:
        return [c for c, k in self.columns if k in kinds]


@dataclass
class World:
    """Random tables and their rows."""

    tables: list[Table]
    data: dict[str, pa.Table] = field(default_factory=dict)


def _value(draw: st.DrawFn, kind: str) -> object:
    if draw(st.integers(0, 5)) == 0:
        return None
    if kind == "int":
        return draw(st.integers(-3, 9))
    if kind == "float":
        return draw(st.sampled_from([0.5, -1.25, 2.0, 10.75]))
    if kind == "text":
        return draw(st.sampled_from(["a", "b", "Ab", "zz", ""]))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "list":
        return draw(st.lists(st.sampled_from(["x", "y", "z"]), max_size=3))
    return {"k": draw(st.integers(0, 3)), "name": draw(st.sampled_from(["p", "q"]))}


@st.composite
def worlds(draw: st.DrawFn) -> World:
    tables = []
    for t in range(draw(st.integers(2, 3))):
        kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
        columns = [("id", "int")] + [(f"c{i}", k) for i, k in enumerate(kinds)]
        if t == 0:
            columns += [("tags", "list"), ("info", "struct")]
        tables.append(Table(f"t{t}", columns))
    world = World(tables)
    for table in tables:
        rows = draw(st.integers(0, 6))
        columns = {}
        for name, kind in table.columns:
            if name == "id":
                values: list[object] = [draw(st.integers(0, 4)) for _ in range(rows)]
            else:
                values = [_value(draw, kind) for _ in range(rows)]
            columns[name] = pa.array(values, ARROW[kind])
        world.data[table.name] = pa.table(columns)
    return world


@dataclass
class Scope:
    """What a FROM clause makes visible: (alias, table) pairs."""

    sources: list[tuple[str, Table]]


def _item(draw: st.DrawFn, scope: Scope, out: str) -> str:
    alias, table = draw(st.sampled_from(scope.sources))
    name, kind = draw(st.sampled_from(table.columns))
    column = f"{alias}.{name}"
    shapes = {
        "int": [column, f"{column} + 1", f"abs({column})"],
        "float": [column, f"round({column}, 1)"],
        "text": [column, f"upper({column})", f"{column} || 'x'", f"length({column})"],
        "bool": [column, f"not {column}"],
        "list": [f"cardinality({column})", f"array_length({column})"],
        "struct": [f"{column}['k']", f"{column}['name']"],
    }[kind]
    return f"{draw(st.sampled_from(shapes))} as {out}"


def _from(draw: st.DrawFn, world: World) -> tuple[str, Scope]:
    """A FROM clause: a table, maybe joined to another (any join kind), or to VALUES."""
    left = draw(st.sampled_from(world.tables))
    text = f"{left.name} a"
    scope = Scope([("a", left)])
    shape = draw(st.sampled_from(["table", "join", "join", "cross", "values"]))
    if shape == "join":
        right = draw(st.sampled_from(world.tables))
        kind = draw(st.sampled_from(JOINS))
        text += f" {kind} {right.name} b on a.id = b.id"
        if kind.startswith("right semi") or kind.startswith("right anti"):
            scope = Scope([("b", right)])
        elif not (" semi" in kind or " anti" in kind):
            scope = Scope([("a", left), ("b", right)])
    elif shape == "cross":
        right = draw(st.sampled_from(world.tables))
        text += f" cross join {right.name} b"
        scope = Scope([("a", left), ("b", right)])
    elif shape == "values":
        text += " join (values (1, 'one'), (2, 'two'), (3, null)) v on v.column1 = a.id"
        scope = Scope(
            [("a", left), ("v", Table("values", [("column1", "int"), ("column2", "text")]))]
        )
    return text, scope


def _where(draw: st.DrawFn, world: World, scope: Scope) -> str:
    alias, _ = scope.sources[0]
    other = draw(st.sampled_from(world.tables))
    return draw(
        st.sampled_from(
            [
                "",
                f" where {alias}.id > {draw(st.integers(0, 3))}",
                f" where {alias}.id in (select id from {other.name} where id < 3)",
                f" where exists (select 1 from {other.name} x where x.id = {alias}.id)",
            ]
        )
    )


@st.composite
def selects(draw: st.DrawFn, world: World) -> str:
    """One SELECT: plain, qualified star, aggregate or window, over a drawn FROM."""
    from_, scope = _from(draw, world)
    where = _where(draw, world, scope)
    mode = draw(st.sampled_from(["plain", "plain", "star", "aggregate", "window"]))
    alias, table = scope.sources[0]
    if mode == "star":
        items = [f"{alias}.*"]
        items += [_item(draw, scope, f"e{i}") for i in range(draw(st.integers(0, 1)))]
    elif mode == "aggregate":
        key = f"{alias}.id"
        numeric = [c for c, k in table.columns if k in ("int", "float")]
        measure = draw(st.sampled_from(numeric))
        items = [f"{key} as k", "count(*) as n", f"sum({alias}.{measure}) as total"]
        return f"select {', '.join(items)} from {from_}{where} group by {key}"
    elif mode == "window":
        items = [
            f"{alias}.id as k",
            # functions whose value a tie cannot change (a row_number over tied rows could
            # differ between two runs of the same query)
            f"rank() over (order by {alias}.id) as rn",
            f"count(*) over (partition by {alias}.id) as n",
            _item(draw, scope, "e0"),
        ]
    else:
        items = [_item(draw, scope, f"e{i}") for i in range(draw(st.integers(1, 3)))]
    return f"select {', '.join(items)} from {from_}{where}"


@st.composite
def set_operations(draw: st.DrawFn, world: World) -> str:
    """Two keyed selects under UNION/INTERSECT/EXCEPT, ordered by name or by position."""
    parts = []
    for _ in range(2):
        table = draw(st.sampled_from(world.tables))
        parts.append(
            f"select s.id as k from {table.name} s{_where(draw, world, Scope([('s', table)]))}"
        )
    op = draw(st.sampled_from(["union", "union all", "intersect", "except"]))
    order = draw(
        st.sampled_from(
            ["", " order by k", " order by 1", " order by 1 desc", " order by k desc limit 3"]
        )
    )
    return f"{parts[0]} {op} {parts[1]}{order}"


@st.composite
def queries(draw: st.DrawFn, world: World) -> str:
    shape = draw(
        st.sampled_from(
            [
                "select",
                "select",
                "set",
                "cte",
                "subquery",
                "values",
                "unnest",
                "engine_only",
                "mistake",
            ]
        )
    )
    if shape == "select":
        return draw(selects(world))
    if shape == "set":
        return draw(set_operations(world))
    if shape == "cte":
        inner = draw(selects(world))
        star = draw(st.sampled_from(["*", "c.*"]))
        return f"with c as ({inner}) select {star} from c"
    if shape == "subquery":
        return f"select q.* from ({draw(selects(world))}) q"
    if shape == "values":
        return draw(
            st.sampled_from(
                [
                    "values (1, 'a'), (2, null)",
                    "select column1 as k, column2 as w from (values (1, 'a'), (2, 'b')) v",
                ]
            )
        )
    if shape == "mistake":  # DataFusion or the store refuses these: so must cpg
        left, right = (draw(st.sampled_from(world.tables)).name for _ in range(2))
        return draw(
            st.sampled_from(
                [
                    f"select a.id, b.id from {left} a join {right} b on a.id = b.id",
                    f"select a.id from {left} a right semi join {right} b on a.id = b.id",
                    f"select b.id from {left} a left anti join {right} b on a.id = b.id",
                    f"select a.nope from {left} a",
                    f"select id from {left} a join {right} b on a.id = b.id",
                    f"select a.id from {left} a union select 'x' || 1 from {right} order by 1",
                ]
            )
        )
    if shape == "engine_only":  # DataFusion SQL sqlglot cannot follow
        table = draw(st.sampled_from(world.tables)).name
        return draw(
            st.sampled_from(
                [
                    f'select "count(*)" as n from (select count(*) from {table})',
                    f"select `id` as k from `{table}`",
                    f"select value as k from generate_series({draw(st.integers(0, 4))})",
                    f"select a.id as k, g.value as v from {table} a join generate_series(2) g "
                    "on g.value = a.id",
                ]
            )
        )
    return "select a.id as k, unnest(a.tags) as tag from t0 a"
