"""A layered synthetic views project, shaped like a large dbt project, for benchmarks and tests.

The plan compiler's cost depends on what real view SQL looks like, not on toy `SELECT a FROM t`
files, so every generated view reads 2-3 upstream tables (Parquet sources or earlier views) with
joins, has one CTE, at least one window function, and 10-20 output columns of mixed types. Views are
arranged in layers (staging -> intermediate -> marts) so the DAG has many generations, and every
view's primary input comes from the layer just below it.

Everything is derived from `random.Random(seed)` and never from set or hash order, so one seed
gives byte-identical files on any machine. The SQL is valid DataFusion SQL, parses with
`sqlglot.parse_one(sql, read="postgres")`, and every declared output type is the exact type
DataFusion produces (window ranks are cast to BIGINT; no functions that change timestamp units).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ARROW_TYPES",
    "SyntheticProject",
    "declared_tests",
    "default_n_sources",
    "generate_project",
]

BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP, BOOLEAN = (
    "BIGINT",
    "DOUBLE",
    "VARCHAR",
    "DATE",
    "TIMESTAMP",
    "BOOLEAN",
)
#: SQL type name (as written to `_schemas.json`) -> Arrow type of the generated Parquet column.
ARROW_TYPES: Mapping[str, pa.DataType] = {
    BIGINT: pa.int64(),
    DOUBLE: pa.float64(),
    VARCHAR: pa.string(),
    DATE: pa.date32(),
    TIMESTAMP: pa.timestamp("us"),
    BOOLEAN: pa.bool_(),
}
PAYLOAD_TYPES = (DOUBLE, BIGINT, VARCHAR, DATE, TIMESTAMP, BOOLEAN)

#: Join keys shared across tables, with their cardinality in the generated data.
KEYS: Mapping[str, int] = {
    "customer_id": 60,
    "product_id": 40,
    "account_id": 30,
    "store_id": 15,
    "region_id": 8,
}
KEY_NAMES = tuple(KEYS)

ENTITIES = (
    "orders",
    "customers",
    "payments",
    "products",
    "shipments",
    "sessions",
    "invoices",
    "refunds",
    "subscriptions",
    "tickets",
    "campaigns",
    "inventory",
    "reviews",
    "stores",
    "suppliers",
    "events",
)
VOCAB: Mapping[str, tuple[str, ...]] = {
    DOUBLE: ("amount", "price", "discount", "score", "balance", "revenue", "cost", "weight"),
    BIGINT: ("quantity", "units", "visits", "clicks", "points", "attempts", "items"),
    VARCHAR: ("status", "category", "channel", "segment", "country_code", "tier", "currency"),
    DATE: ("order_date", "signup_date", "ship_date", "due_date", "billing_date"),
    TIMESTAMP: ("created_at", "updated_at", "event_ts", "loaded_at", "processed_at"),
    BOOLEAN: ("is_active", "is_returned", "is_flagged", "is_paid", "has_discount"),
}
STRING_VALUES = ("alpha", "beta", "gamma", "delta", "north", "south", "gold", "silver", "web")
EPOCH = dt.datetime(2020, 1, 1)
INDENT = "    "


@dataclass(frozen=True)
class Table:
    """A source or view as the generator sees it: ordered typed columns and its join keys."""

    name: str
    entity: str
    columns: tuple[tuple[str, str], ...]
    keys: tuple[str, ...]

    def of_type(self, sql_type: str) -> list[str]:
        """Payload columns (not the row id or a join key) of one SQL type, in column order."""
        return [
            c for c, t in self.columns if t == sql_type and c != "row_id" and c not in self.keys
        ]


@dataclass(frozen=True)
class SyntheticProject:
    """What `generate_project` wrote: names, dependencies and the promised schema of every table."""

    root: Path
    project_file: Path
    sources: tuple[str, ...]
    #: View names in a topological order (layer by layer).
    views: tuple[str, ...]
    layers: tuple[tuple[str, ...], ...]
    #: table (source or view) -> column -> SQL type name, in column order.
    schemas: Mapping[str, Mapping[str, str]]
    #: view -> the tables its SQL reads (its true dependencies).
    upstreams: Mapping[str, tuple[str, ...]]

    def view_path(self, name: str) -> Path:
        """The `.sql` file of a view."""
        return self.root / "views" / f"{name}.sql"

    def source_path(self, name: str) -> Path:
        """The Parquet file of a source."""
        return self.root / "sources" / f"{name}.parquet"


def default_n_sources(n_views: int) -> int:
    """Sources grow slowly with the project, like raw tables feeding a dbt project (4..24)."""
    return max(4, min(24, n_views // 40))


def default_n_layers(n_views: int) -> int:
    """About sqrt(N) layers, capped at 20 (the depth of a large real dbt DAG)."""
    return max(1, min(20, n_views, round(math.sqrt(n_views))))


def generate_project(
    root: Path,
    n_views: int,
    *,
    seed: int = 0,
    n_sources: int | None = None,
    n_layers: int | None = None,
    tests_per_view: int = 0,
) -> SyntheticProject:
    """Write sources, views, `cpg.toml` and `_schemas.json` under `root` and describe them.

    `root` may exist but should not already hold another project's files. `tests_per_view`
    declares that many `@test` lines in each view (`declared_tests`); they draw nothing from the
    random stream, so the SQL and data are the same with or without them.
    """
    if n_views < 1:
        raise ValueError("n_views must be >= 1")
    rng = random.Random(seed)
    n_src = default_n_sources(n_views) if n_sources is None else n_sources
    if n_src < 2:
        raise ValueError("n_sources must be >= 2 (joins need a second table)")
    layers_n = default_n_layers(n_views) if n_layers is None else max(1, min(n_layers, n_views))

    (root / "sources").mkdir(parents=True, exist_ok=True)
    (root / "views").mkdir(parents=True, exist_ok=True)

    sources = [_make_source(rng, i) for i in range(n_src)]
    for src in sources:
        _write_source(rng, src, root / "sources" / f"{src.name}.parquet")

    width = max(4, len(str(n_views - 1)))
    sizes = _layer_sizes(n_views, layers_n)
    layer_tables: list[list[Table]] = []
    upstreams: dict[str, tuple[str, ...]] = {}
    index = 0
    for layer, size in enumerate(sizes):
        current: list[Table] = []
        for _ in range(size):
            prefix = _prefix(rng, layer, layers_n)
            view, sql, deps = _make_view(rng, layer, prefix, index, width, sources, layer_tables)
            if tests_per_view:
                tests = "".join(
                    f"{line}\n" for line in declared_tests(view, deps[0], tests_per_view)
                )
                sql = sql.replace("-- @keys: row_id\n", "-- @keys: row_id\n" + tests, 1)
            (root / "views" / f"{view.name}.sql").write_text(sql, encoding="utf-8")
            upstreams[view.name] = deps
            current.append(view)
            index += 1
        layer_tables.append(current)

    views = [v for layer in layer_tables for v in layer]
    schemas = {t.name: dict(t.columns) for t in [*sources, *views]}
    _write_toml(root / "cpg.toml", [s.name for s in sources])
    doc = {
        "seed": seed,
        "sources": [s.name for s in sources],
        "views": [v.name for v in views],
        "layers": [[v.name for v in layer] for layer in layer_tables],
        "upstreams": {k: list(v) for k, v in upstreams.items()},
        "tables": schemas,
    }
    (root / "_schemas.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return SyntheticProject(
        root=root,
        project_file=root / "cpg.toml",
        sources=tuple(s.name for s in sources),
        views=tuple(v.name for v in views),
        layers=tuple(tuple(v.name for v in layer) for layer in layer_tables),
        schemas=schemas,
        upstreams=upstreams,
    )


def declared_tests(view: Table, primary: str, count: int) -> list[str]:
    """`count` `@test` lines a dbt project would declare on a model like `view`: its row id is
    never null, it has rows, its first join key exists in its primary input; more are
    expression tests on the row id."""
    key = view.keys[0]
    lines = [
        "-- @test not_null: row_id",
        "-- @test row_count: >= 1",
        f"-- @test relationships: {key} -> {primary}.{key}",
    ]
    lines += [f"-- @test expression: row_id >= {i}" for i in range(max(0, count - len(lines)))]
    return lines[:count]


def load_schemas(root: Path) -> dict[str, dict[str, str]]:
    """Table -> column -> SQL type from `root/_schemas.json` (sqlglot MappingSchema's input)."""
    doc = json.loads((root / "_schemas.json").read_text(encoding="utf-8"))
    return doc["tables"]


# --- sources ---------------------------------------------------------------------------------


def _make_source(rng: random.Random, i: int) -> Table:
    """A raw table: row id, three join keys (rotated so every key is in some source), payload."""
    base = ENTITIES[i % len(ENTITIES)]
    entity = base if i < len(ENTITIES) else f"{base}_{i // len(ENTITIES) + 1}"
    n = len(KEY_NAMES)
    keys = tuple(KEY_NAMES[(i + j) % n] for j in (0, 1, 3))
    columns: list[tuple[str, str]] = [("row_id", BIGINT), *((k, BIGINT) for k in keys)]
    payload: list[tuple[str, str]] = []
    for sql_type in PAYLOAD_TYPES:
        for name in rng.sample(VOCAB[sql_type], rng.randint(1, 2)):
            payload.append((name, sql_type))
    rng.shuffle(payload)
    return Table(f"src_{entity}", entity, (*columns, *payload), keys)


def _write_source(rng: random.Random, table: Table, path: Path) -> None:
    """Write 50-500 deterministic rows (a few nulls in payload columns) as Parquet."""
    n_rows = rng.randint(50, 500)
    arrays: list[pa.Array] = []
    for name, sql_type in table.columns:
        if name == "row_id":
            values: list[object] = list(range(1, n_rows + 1))
        elif name in KEYS:
            values = [rng.randint(1, KEYS[name]) for _ in range(n_rows)]
        else:
            values = [_value(rng, sql_type) for _ in range(n_rows)]
        arrays.append(pa.array(values, type=ARROW_TYPES[sql_type]))
    data = pa.Table.from_arrays(arrays, names=[c for c, _ in table.columns])
    pq.write_table(data, path)


def _value(rng: random.Random, sql_type: str) -> object:
    """One random payload value; about 5% nulls."""
    if rng.random() < 0.05:
        return None
    if sql_type == DOUBLE:
        return round(rng.uniform(0.0, 1000.0), 2)
    if sql_type == BIGINT:
        return rng.randint(0, 99)
    if sql_type == VARCHAR:
        return rng.choice(STRING_VALUES)
    if sql_type == DATE:
        return (EPOCH + dt.timedelta(days=rng.randint(0, 1825))).date()
    if sql_type == TIMESTAMP:
        return EPOCH + dt.timedelta(seconds=rng.randint(0, 1825 * 86400))
    return rng.random() < 0.5


# --- views -----------------------------------------------------------------------------------


def _layer_sizes(n_views: int, n_layers: int) -> list[int]:
    """Split N views over the layers as evenly as possible (earlier layers take the remainder)."""
    base, extra = divmod(n_views, n_layers)
    return [base + (1 if i < extra else 0) for i in range(n_layers)]


def _prefix(rng: random.Random, layer: int, n_layers: int) -> str:
    """dbt naming: staging first, marts last, intermediate in between."""
    if layer == 0:
        return "stg"
    if layer == n_layers - 1:
        return rng.choice(("fct", "dim", "rpt"))
    return "int"


def _pick_partner(
    rng: random.Random,
    layer: int,
    sources: Sequence[Table],
    layers: Sequence[Sequence[Table]],
    primary: Table,
    exclude: Sequence[str],
) -> tuple[Table, str] | None:
    """A second input sharing a join key with the primary: recent views mostly, else sources."""
    for _ in range(20):
        roll = rng.random()
        if layer == 0 or roll < 0.15:
            pool: Sequence[Table] = sources
        elif roll < 0.75:
            pool = rng.choice(layers[max(0, layer - 3) : layer])
        else:
            pool = rng.choice(layers[:layer])
        cand = rng.choice(pool)
        shared = [k for k in primary.keys if k in cand.keys]
        if cand.name not in exclude and shared:
            return cand, rng.choice(shared)
    fallback = [
        s for s in sources if s.name not in exclude and any(k in s.keys for k in primary.keys)
    ]
    if not fallback:
        return None
    cand = rng.choice(fallback)
    return cand, rng.choice([k for k in primary.keys if k in cand.keys])


def _strip(name: str) -> str:
    """The vocabulary noun inside a derived name, so names do not grow layer after layer.

    `orders_avg_total_amount_2` -> `amount`; `orders_2` -> `orders`.
    """
    for word in _ROOTS:
        if word in name:
            return word
    return re.sub(r"(_\d+)+$", "", name)


_ROOTS = sorted(
    {w for words in VOCAB.values() for w in words} | set(ENTITIES), key=lambda w: (-len(w), w)
)


def _short(key: str) -> str:
    """`customer_id` -> `customer`."""
    return key.removesuffix("_id")


class _Select:
    """An output column list with unique names and the SQL type of each column."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []  # (expression, name, SQL type)
        self.names: set[str] = set()

    def add(self, expr: str, name: str, sql_type: str) -> None:
        """Add `expr AS name`, renaming to `name_2`, `name_3`... on a clash."""
        out, n = name, 1
        while out in self.names:
            n += 1
            out = f"{name}_{n}"
        self.names.add(out)
        self.items.append((expr, out, sql_type))

    def __len__(self) -> int:
        return len(self.items)

    def render(self) -> str:
        """One column per line; bare `a.col` when it keeps its name."""
        lines = [
            expr if expr in (f"a.{name}", f"b.{name}", f"c.{name}") else f"{expr} AS {name}"
            for expr, name, _ in self.items
        ]
        return (",\n" + INDENT).join(lines)


def _transform(rng: random.Random, ref: str, sql_type: str) -> str:
    """A type-preserving cleanup of a column (what staging/intermediate models do all day)."""
    factor = rng.choice(("1.07", "0.93", "1.2", "0.5"))
    options: Mapping[str, tuple[str, ...]] = {
        DOUBLE: (
            f"ROUND({ref} * {factor}, 2)",
            f"COALESCE({ref}, 0.0)",
            f"ABS({ref})",
            f"LEAST({ref}, 5000.0)",
        ),
        BIGINT: (f"{ref} + 1", f"COALESCE({ref}, 0)", f"ABS({ref})", f"GREATEST({ref}, 0)"),
        VARCHAR: (
            f"UPPER({ref})",
            f"LOWER({ref})",
            f"COALESCE({ref}, 'unknown')",
            f"TRIM({ref})",
        ),
        DATE: (f"{ref} + INTERVAL '3 days'", f"COALESCE({ref}, DATE '2020-01-01')"),
        TIMESTAMP: (f"DATE_TRUNC('hour', {ref})", f"{ref} + INTERVAL '1 hour'"),
        BOOLEAN: (f"COALESCE({ref}, FALSE)", f"NOT {ref}"),
    }
    return rng.choice(options[sql_type])


def _cte_aggregates(rng: random.Random, src: Table) -> list[tuple[str, str, str, str]]:
    """Aggregates for the CTE over the second input: (agg SQL, column, type, outer expression).

    The outer expression turns the LEFT JOIN's nulls into defaults where a dbt model would.
    """
    entity = _strip(src.entity)
    aggs: list[tuple[str, str, str, str]] = [("COUNT(*)", f"n_{entity}", BIGINT, "COALESCE({}, 0)")]
    dbl, txt, date, ts, flag = (
        src.of_type(DOUBLE),
        src.of_type(VARCHAR),
        src.of_type(DATE),
        src.of_type(TIMESTAMP),
        src.of_type(BOOLEAN),
    )
    menu: list[tuple[str, str, str, str]] = []
    if dbl:
        c = rng.choice(dbl)
        menu.append((f"SUM({c})", f"total_{_strip(c)}", DOUBLE, "COALESCE({}, 0.0)"))
        menu.append((f"AVG({c})", f"avg_{_strip(c)}", DOUBLE, "{}"))
        if flag:
            f = rng.choice(flag)
            menu.append((f"SUM({c}) FILTER (WHERE {f})", f"{_strip(f)}_{_strip(c)}", DOUBLE, "{}"))
    if date:
        c = rng.choice(date)
        menu.append((f"MAX({c})", f"last_{_strip(c)}", DATE, "{}"))
    if ts:
        c = rng.choice(ts)
        menu.append((f"MIN({c})", f"first_{_strip(c)}", TIMESTAMP, "{}"))
    if flag:
        c = rng.choice(flag)
        menu.append((f"BOOL_OR({c})", f"any_{_strip(c)}", BOOLEAN, "COALESCE({}, FALSE)"))
    if txt:
        c = rng.choice(txt)
        menu.append((f"COUNT(DISTINCT {c})", f"n_distinct_{_strip(c)}", BIGINT, "COALESCE({}, 0)"))
    aggs += rng.sample(menu, min(len(menu), rng.randint(1, 2)))
    seen: set[str] = set()
    unique: list[tuple[str, str, str, str]] = []
    for agg in aggs:  # two picks can strip to the same name
        if agg[1] not in seen:
            seen.add(agg[1])
            unique.append(agg)
    return unique


def _window(rng: random.Random, a: Table, kind: str) -> tuple[str, str, str]:
    """One window function over the primary input, partitioned by one of its keys."""
    key = rng.choice(a.keys)
    ts = a.of_type(TIMESTAMP)
    time_col = f"a.{rng.choice(ts)}" if ts else "a.row_id"
    order = f"{time_col}, a.row_id"
    dbl = rng.choice(a.of_type(DOUBLE))
    over = f"PARTITION BY a.{key} ORDER BY {order}"
    if kind == "row_number":
        latest = f"{time_col} DESC, a.row_id DESC"
        expr = f"CAST(ROW_NUMBER() OVER (PARTITION BY a.{key} ORDER BY {latest}) AS BIGINT)"
        return expr, f"{_short(key)}_seq", BIGINT
    if kind == "running_sum":
        frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        return f"SUM(a.{dbl}) OVER ({over} {frame})", f"running_{_strip(dbl)}", DOUBLE
    if kind == "lag":
        return f"LAG(a.{dbl}, 1) OVER ({over})", f"prev_{_strip(dbl)}", DOUBLE
    if kind == "partition_avg":
        expr = f"AVG(a.{dbl}) OVER (PARTITION BY a.{key})"
        return expr, f"{_short(key)}_avg_{_strip(dbl)}", DOUBLE
    if kind == "dense_rank":
        rank = f"DENSE_RANK() OVER (PARTITION BY a.{key} ORDER BY a.{dbl} DESC NULLS LAST)"
        return f"CAST({rank} AS BIGINT)", f"{_strip(dbl)}_rank", BIGINT
    return f"COUNT(*) OVER (PARTITION BY a.{key})", f"{_short(key)}_rows", BIGINT


WINDOW_KINDS = ("row_number", "running_sum", "lag", "partition_avg", "dense_rank", "count")


def _derived(rng: random.Random, a: Table) -> list[tuple[str, str, str]]:
    """Extra computed columns (bands, flags, parts of dates) a mart would add."""
    dbl = a.of_type(DOUBLE)
    date, ts = a.of_type(DATE), a.of_type(TIMESTAMP)
    out: list[tuple[str, str, str]] = []
    if dbl:
        c = rng.choice(dbl)
        hi, lo = rng.choice(((700.0, 300.0), (800.0, 200.0), (600.0, 100.0)))
        band = (
            f"CASE WHEN a.{c} >= {hi} THEN 'high' WHEN a.{c} >= {lo} THEN 'medium' ELSE 'low' END"
        )
        out.append((band, f"{_strip(c)}_band", VARCHAR))
        out.append((f"COALESCE(a.{c}, 0.0) > {lo}", f"is_large_{_strip(c)}", BOOLEAN))
    if date:
        c = rng.choice(date)
        out.append((f"CAST(EXTRACT(YEAR FROM a.{c}) AS BIGINT)", f"{_strip(c)}_year", BIGINT))
    if ts:
        c = rng.choice(ts)
        out.append((f"CAST(a.{c} AS DATE)", f"{_strip(c)}_day", DATE))
    rng.shuffle(out)
    return out


def _make_view(
    rng: random.Random,
    layer: int,
    prefix: str,
    index: int,
    width: int,
    sources: Sequence[Table],
    layers: Sequence[Sequence[Table]],
) -> tuple[Table, str, tuple[str, ...]]:
    """One view: its table description, its SQL text and the tables it reads."""
    a = rng.choice(sources if layer == 0 else layers[layer - 1])
    name = f"{prefix}_{_strip(a.entity)}_{index:0{width}d}"
    picked = _pick_partner(rng, layer, sources, layers, a, [a.name])
    if picked is None:
        raise ValueError("no second input shares a join key; use more sources")
    b, kb = picked
    c_pick = (
        _pick_partner(rng, layer, sources, layers, a, [a.name, b.name])
        if rng.random() < 0.7
        else None
    )

    sel = _Select()
    sel.add("a.row_id", "row_id", BIGINT)
    for key in a.keys:
        sel.add(f"a.{key}", key, BIGINT)
    for sql_type in PAYLOAD_TYPES:  # one column of each type keeps every type flowing downstream
        col = rng.choice(a.of_type(sql_type))
        expr = _transform(rng, f"a.{col}", sql_type) if rng.random() < 0.5 else f"a.{col}"
        sel.add(expr, col, sql_type)

    cte_name = f"{_strip(b.entity)}_by_{_short(kb)}"
    aggs = _cte_aggregates(rng, b)
    for _, col, sql_type, outer in aggs:
        sel.add(outer.format(f"b.{col}"), col, sql_type)
    cte_filter = ""
    b_dbl = b.of_type(DOUBLE)
    if b_dbl and rng.random() < 0.5:
        cte_filter = f"\n{INDENT}WHERE {rng.choice(b_dbl)} IS NOT NULL"
    cte_cols = (",\n" + INDENT * 2).join([kb, *(f"{s} AS {c}" for s, c, _, _ in aggs)])
    cte = (
        f"WITH {cte_name} AS (\n{INDENT}SELECT\n{INDENT * 2}{cte_cols}\n"
        f"{INDENT}FROM {b.name}{cte_filter}\n{INDENT}GROUP BY {kb}\n)"
    )

    joins = [f"LEFT JOIN {cte_name} AS b ON a.{kb} = b.{kb}"]
    where: list[str] = []
    deps = [a.name, b.name]
    if c_pick is not None:
        c, kc = c_pick
        deps.append(c.name)
        c_dbl, c_txt, c_date = c.of_type(DOUBLE), c.of_type(VARCHAR), c.of_type(DATE)
        if rng.random() < 0.6:
            menu: list[tuple[str, str, str]] = []
            ent = _strip(c.entity)
            if c_dbl:
                col = rng.choice(c_dbl)
                menu.append((f"AVG({col})", f"{ent}_avg_{_strip(col)}", DOUBLE))
            if c_txt:
                col = rng.choice(c_txt)
                menu.append((f"MAX({col})", f"{ent}_top_{_strip(col)}", VARCHAR))
            if c_date:
                col = rng.choice(c_date)
                menu.append((f"MAX({col})", f"{ent}_last_{_strip(col)}", DATE))
            chosen = rng.sample(menu, min(len(menu), rng.randint(1, 2)))
            inner = ", ".join([kc, *(f"{s} AS {n}" for s, n, _ in chosen)])
            joins.append(
                f"LEFT JOIN (\n{INDENT}SELECT {inner}\n{INDENT}FROM {c.name}\n"
                f"{INDENT}GROUP BY {kc}\n) AS c ON a.{kc} = c.{kc}"
            )
            for _, col, sql_type in chosen:
                sel.add(f"c.{col}", col, sql_type)
        else:
            cond = f" WHERE {rng.choice(c_dbl)} IS NOT NULL" if c_dbl else ""
            where.append(f"a.{kc} IN (SELECT {kc} FROM {c.name}{cond})")

    windows = rng.sample(WINDOW_KINDS, rng.randint(1, 2))
    for kind in windows:
        sel.add(*_window(rng, a, kind))

    target = rng.randint(max(len(sel), 12), 20)
    extras = _derived(rng, a)
    leftovers = [
        (f"a.{c}", c, t)
        for c, t in a.columns
        if c not in sel.names and c != "row_id" and c not in a.keys
    ]
    rng.shuffle(leftovers)
    for expr, col, sql_type in [*extras, *leftovers]:
        if len(sel) >= target:
            break
        sel.add(expr, col, sql_type)

    a_dbl = a.of_type(DOUBLE)
    if rng.random() < 0.3:
        where.insert(0, f"COALESCE(a.{rng.choice(a_dbl)}, 0.0) >= 0.0")

    deps_text = ", ".join(deps[:-1]) + " and " + deps[-1]
    parts = [
        f"-- Synthetic layer {layer} model of {_strip(a.entity)} built from {deps_text}.",
        "-- @keys: row_id",
        cte,
        f"SELECT\n{INDENT}{sel.render()}",
        f"FROM {a.name} AS a",
        *joins,
    ]
    if where:
        parts.append("WHERE " + f"\n{INDENT}AND ".join(where))
    sql = "\n".join(parts) + "\n"
    view = Table(
        name=name,
        entity=a.entity,
        columns=tuple((n, t) for _, n, t in sel.items),
        keys=a.keys,
    )
    return view, sql, tuple(deps)


def _write_toml(path: Path, sources: Sequence[str]) -> None:
    """The project file in the lead's `cpg.toml` format (pure SQL project, no built-in CPG)."""
    lines = [
        "# Generated by tests/synthetic_project.py",
        'views = ["views"]',
        "include_cpg = false",
        'store = ".cpg/store"',
    ]
    for name in sources:
        lines += ["", f"[sources.{name}]", f'path = "sources/{name}.parquet"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sql_type_of(arrow_type: pa.DataType) -> str | None:
    """The SQL type name an Arrow type stands for here (any string encoding is VARCHAR)."""
    checks: Sequence[tuple[Callable[[pa.DataType], bool], str]] = (
        (pa.types.is_int64, BIGINT),
        (pa.types.is_float64, DOUBLE),
        (pa.types.is_string, VARCHAR),
        (pa.types.is_large_string, VARCHAR),
        (pa.types.is_string_view, VARCHAR),
        (pa.types.is_date32, DATE),
        (pa.types.is_boolean, BOOLEAN),
    )
    for check, name in checks:
        if check(arrow_type):
            return name
    if pa.types.is_timestamp(arrow_type) and getattr(arrow_type, "tz", None) is None:
        return TIMESTAMP
    return None
