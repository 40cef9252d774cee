"""The shape proof of a partition-incremental view: does its query keep partitions apart?

A view declaring `-- @incremental: partition_by = <column>` claims that the rows of output
partition *p* depend only on the rows of partition *p* of its **driving inputs** plus the whole
of its other (**lookup**) inputs. `shape_of` proves it from the qualified AST's scopes (run by
view analysis while the AST is alive; the result is cached with the rest of the analysis),
bottom-up and conservatively — what it cannot prove is a problem with its position and the
reason, never a silent guess. A scope is *partitioned* when it reads a driver (directly or
through a derived table or CTE), and then

- its partition key must flow unchanged (a bare column, through any number of derived tables
  and CTEs) from a driver to the output column, never from the nullable side of an outer join;
- every partitioned source of a join must be tied to the others by an equality of keys
  (`a.path = b.path`, in ON or WHERE), so a row only ever combines rows of one partition, and
  no outer join may keep rows of a lookup that matched no driver row (they have no partition);
- aggregates need a GROUP BY that includes the key (no global aggregate, no grouping sets),
  windows a PARTITION BY that includes it, DISTINCT ON must include it, DISTINCT must output
  it; LIMIT/OFFSET/FETCH decide membership across partitions and are refused;
- every branch of a set operation must be partitioned, with the key at the same position;
- a subquery outside FROM that reads a driver must be correlated to the outer row's key
  (then, seeing one partition only, it may aggregate or limit freely);
- a recursive CTE over a driver must carry the key unchanged through its recursive branch;
- volatile functions (random(), now()...) are refused: a partial rebuild would differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from cpg_core.plan.partitioning import Driver, Lineage, Partitioning, partition_problem
from cpg_core.plan.sql_parse import Position, first_token_position, offset_position
from cpg_core.problems import Problem
from cpg_core.views.model import IncrementalSpec, ViewDef

_VOLATILE = frozenset(
    {"rand", "random", "now", "current_timestamp", "current_date", "current_time", "uuid"}
    | {"gen_random_uuid", "localtime", "localtimestamp", "clock_timestamp"}
)


# ----------------------------------------------------------------------------- drivers


def resolve_drivers(
    view: ViewDef, spec: IncrementalSpec, lineage: Lineage, schemas: Mapping[str, pa.Schema]
) -> tuple[tuple[Driver, ...], list[Problem]]:
    """The driving inputs: declared (`table` / `table.column`) or, by default, the tables the
    partition column flows from (its column lineage)."""
    at = Position(spec.line, spec.col) if spec.line else first_token_position(view.sql)
    flows = lineage.get(spec.partition_by)
    if flows is None:
        return (), [_not_output(view, spec, lineage, at)]
    if not spec.drivers:
        if not flows:
            return (), [
                partition_problem(
                    view,
                    at,
                    f"the partition column {spec.partition_by!r} comes from no input table",
                    "it must be a driving input's column, selected unchanged",
                )
            ]
        return tuple(sorted({Driver(t, c) for t, c in flows})), []
    drivers: list[Driver] = []
    problems: list[Problem] = []
    for text in spec.drivers:
        table, _, column = text.partition(".")
        schema = schemas.get(table)
        if schema is None:
            problems.append(
                partition_problem(
                    view,
                    at,
                    f"driver {table!r} is not an input of the view",
                    "inputs: " + ", ".join(sorted(schemas)),
                )
            )
            continue
        if not column:
            flowing = sorted(c for t, c in flows if t == table)
            column = flowing[0] if flowing else spec.partition_by
        if column not in schema.names:
            problems.append(
                partition_problem(
                    view,
                    at,
                    f"driver {table!r} has no column {column!r}",
                    f"name it: `drivers = {table}.<column>`",
                )
            )
            continue
        drivers.append(Driver(table, column))
    return tuple(sorted(drivers)), problems


def resolve_dependencies(
    view: ViewDef, spec: IncrementalSpec, schemas: Mapping[str, pa.Schema]
) -> tuple[Driver | None, list[Problem]]:
    """The declared dependency list (`table.column`): an input of the view that has the
    partition column (its rows name the partition that depends) and the named column (the
    partition it depends on)."""
    if spec.dependencies is None:
        return None, []
    at = Position(spec.line, spec.col) if spec.line else first_token_position(view.sql)
    table, _, column = spec.dependencies.partition(".")
    schema = schemas.get(table)
    if schema is None:
        hint = "inputs: " + ", ".join(sorted(schemas))
        message = f"dependencies table {table!r} is not an input of the view"
        return None, [partition_problem(view, at, message, hint)]
    missing = [c for c in (spec.partition_by, column) if c not in schema.names]
    if missing:
        message = f"dependencies table {table!r} has no column {missing[0]!r}"
        hint = f"it lists ({spec.partition_by}, <the partition it depends on>) pairs"
        return None, [partition_problem(view, at, message, hint)]
    return Driver(table, column), []


# ----------------------------------------------------------------------------- query shape


@dataclass(frozen=True)
class _Info:
    """A scope's partitioning: does it read a driver, and which output columns carry the key."""

    partitioned: bool
    keys: frozenset[str] = frozenset()
    key_positions: tuple[int, ...] = ()


_WHOLE = _Info(False)


@dataclass
class _Source:
    """One FROM/JOIN item of a scope: its alias, what it is, its key columns."""

    alias: str
    label: str
    partitioned: bool
    keys: frozenset[str]
    node: exp.Expr


@dataclass
class _Check:
    """The shape check of one view (problems accumulate; each scope is analyzed once)."""

    view: ViewDef
    drivers: Mapping[str, str]  # driver table → its partition column
    problems: list[Problem] = field(default_factory=list)
    # by query node: a recursive CTE's self-reference is a scope of its anchor's query,
    # analyzed (as the first branch) before the recursive branch that reads it
    memo: dict[int, _Info] = field(default_factory=dict)

    def fail(self, node: exp.Expr | None, message: str, hint: str | None = None) -> None:
        self.problems.append(
            partition_problem(self.view, _position(node, self.view.sql), message, hint)
        )

    # -- scopes ------------------------------------------------------------------------------

    def scope(self, scope: Scope, anchor: Mapping[str, frozenset[str]] | None = None) -> _Info:
        """Analyze `scope`; `anchor` (outer alias → keys) when it is a correlated subquery."""
        known = self.memo.get(id(scope.expression))
        if known is not None and anchor is None:
            return known
        if scope.set_operation_scopes:
            info = self._set_operation(scope)
        else:
            info = self._select(scope, anchor)
        if anchor is None:
            self.memo[id(scope.expression)] = info
        return info

    def _set_operation(self, scope: Scope) -> _Info:
        expression = scope.expression
        branches = scope.set_operation_scopes
        infos = [self.scope(branch) for branch in branches]  # the anchor first
        if not any(i.partitioned for i in infos):
            return _WHOLE
        for branch, info in zip(branches, infos, strict=True):
            if not info.partitioned:
                self.fail(
                    _first_select(branch),
                    "this branch of the set operation reads no "
                    "driving input: its rows would belong to no partition",
                )
        self._limit(expression)
        positions = set(infos[0].key_positions)
        for info in infos[1:]:
            positions &= set(info.key_positions)
        if not positions and all(i.partitioned for i in infos):
            self.fail(
                expression,
                "the branches of the set operation do not carry the "
                "partition key in the same column",
            )
        names = _names(branches[0])
        kept = tuple(sorted(positions))
        return _Info(True, frozenset(names[i] for i in kept if i < len(names)), kept)

    def _select(self, scope: Scope, anchor: Mapping[str, frozenset[str]] | None) -> _Info:
        select = scope.expression
        if not isinstance(select, exp.Select):
            return _WHOLE
        sources = self._sources(scope)
        partitioned = {s.alias: s for s in sources if s.partitioned}
        self._subqueries(scope, {a: s.keys for a, s in partitioned.items()})
        if not partitioned:
            return _WHOLE
        nullable = self._joins(select, sources)
        outer = anchor or {}
        self._connected(select, partitioned, outer)
        keyed = {a: s.keys for a, s in partitioned.items() if a not in nullable}
        if anchor is None:  # a correlated subquery sees one partition: anything goes inside
            self._aggregates(select, keyed)
            self._windows(select, keyed)
            self._limit(select)
        positions = tuple(
            i for i, projection in enumerate(select.expressions) if _key_ref(projection, keyed)
        )
        names = [p.alias_or_name for p in select.expressions]
        keys = frozenset(names[i] for i in positions)
        if anchor is None:
            self._distinct(select, keyed, keys)
        return _Info(True, keys, positions)

    def _sources(self, scope: Scope) -> list[_Source]:
        found: list[_Source] = []
        for alias, (node, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table):
                column = self.drivers.get(source.name) if _plain_table(source) else None
                keys = frozenset({column}) if column is not None else frozenset()
                found.append(_Source(alias, source.name, column is not None, keys, node))
                continue
            info = self.scope(source)
            label = node.name if isinstance(node, exp.Table) else "a subquery"
            if info.partitioned and not info.keys:
                self.fail(
                    node,
                    f"{label} reads a driving input but does not output its "
                    "partition key, so its rows cannot be told apart by partition",
                )
                info = _WHOLE  # reported once: not again as a join or key problem
            found.append(_Source(alias, label, info.partitioned, info.keys, node))
        return found

    def _subqueries(self, scope: Scope, outer: Mapping[str, frozenset[str]]) -> None:
        """Subqueries outside FROM (IN, EXISTS, scalar): correlated to the key, or lookups."""
        for sub in scope.subquery_scopes:
            info = self.scope(sub, anchor=outer or None) if outer else self.scope(sub)
            if info.partitioned and not outer:
                self.fail(
                    sub.expression,
                    "this subquery reads a driving input over all "
                    "partitions (it is not tied to one row's partition)",
                    "correlate it on the partition key, or join instead",
                )

    # -- joins ---------------------------------------------------------------------------------

    def _joins(self, select: exp.Select, sources: Sequence[_Source]) -> set[str]:
        """Outer joins: the aliases on a nullable side; rows of a preserved side that holds no
        driver have no partition."""
        by_alias = {s.alias: s for s in sources}
        seen: list[str] = []
        from_ = select.args.get("from_")
        if from_ is not None and from_.this.alias_or_name in by_alias:
            seen.append(from_.this.alias_or_name)
        nullable: set[str] = set()
        for join in select.args.get("joins") or []:
            alias = join.this.alias_or_name
            side = (join.side or "").upper()
            left = [a for a in seen if a in by_alias]
            right = [alias] if alias in by_alias else []
            preserved = {"LEFT": [left], "RIGHT": [right], "FULL": [left, right]}.get(side, [])
            touches = any(by_alias[a].partitioned for a in [*left, *right])
            for kept in preserved:
                if touches and not any(by_alias[a].partitioned for a in kept):
                    names = ", ".join(sorted({by_alias[a].label for a in kept}))
                    self.fail(
                        join,
                        f"this {side} JOIN keeps rows of {names} that match no "
                        "driving input row: they would belong to no partition",
                        "use an inner join, or put the driving input on the kept side",
                    )
            if side in ("LEFT", "FULL"):
                nullable.update(right)
            if side in ("RIGHT", "FULL"):
                nullable.update(left)
            seen.append(alias)
        return nullable

    def _connected(
        self,
        select: exp.Select,
        partitioned: Mapping[str, _Source],
        outer: Mapping[str, frozenset[str]],
    ) -> None:
        """Every partitioned source tied to the others (or to the outer row) by key equality."""
        parent = {a: a for a in [*partitioned, *(f"^{o}" for o in outer)]}

        def find(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for left, right in _key_equalities(select):
            ends = [_end(c, partitioned, outer) for c in (left, right)]
            if ends[0] is not None and ends[1] is not None:
                parent[find(ends[0])] = find(ends[1])
        roots = {find(a) for a in partitioned}
        if outer:
            loose = sorted(
                a
                for a in partitioned
                if not find(a).startswith("^") and not any(find(f"^{o}") == find(a) for o in outer)
            )
            if loose:
                source = partitioned[loose[0]]
                self.fail(
                    source.node,
                    f"this subquery reads {source.label} without equating its partition key "
                    "to the outer row's: it would see every partition",
                    f"add `{source.label}.{min(source.keys, default='<key>')} = "
                    "<outer>.<key>` to its WHERE",
                )
        elif len(roots) > 1:
            first, *rest = sorted(partitioned.values(), key=lambda s: s.alias)
            other = next(s for s in rest if find(s.alias) != find(first.alias))
            what = (
                f"{first.label} is joined with itself"
                if first.label == other.label
                else f"{first.label} and {other.label} are joined"
            )
            self.fail(
                other.node,
                f"{what} without equating their partition keys: rows of different partitions "
                "would be combined",
                f"add `{_pair(first, other)}` to the join condition",
            )

    # -- row-combining clauses -----------------------------------------------------------------

    def _aggregates(self, select: exp.Select, keyed: Mapping[str, frozenset[str]]) -> None:
        group = select.args.get("group")
        if group is not None:
            if any(
                isinstance(e, exp.Rollup | exp.Cube | exp.GroupingSets) for e in group.expressions
            ):
                self.fail(group, "grouping sets, ROLLUP and CUBE aggregate across partitions")
            elif not any(_key_ref(e, keyed) for e in group.expressions):
                self.fail(
                    group,
                    "GROUP BY does not include the partition key: groups would span partitions",
                    "group by the key as well",
                )
            return
        for aggregate in _own(select, exp.AggFunc):
            if aggregate.find_ancestor(exp.Window) is None:
                self.fail(
                    aggregate,
                    "an aggregate without GROUP BY summarizes all partitions at once",
                    "add GROUP BY with the partition key",
                )
                return

    def _windows(self, select: exp.Select, keyed: Mapping[str, frozenset[str]]) -> None:
        named = {w.alias_or_name: w for w in select.args.get("windows") or []}
        for window in _own(select, exp.Window):
            spec = (
                named.get(window.alias, window) if not window.args.get("partition_by") else window
            )
            partition = spec.args.get("partition_by") or []
            if not any(_key_ref(e, keyed) for e in partition):
                self.fail(
                    window,
                    "this window is not partitioned by the partition key: it "
                    "would see rows of other partitions",
                    "add the key to PARTITION BY",
                )

    def _limit(self, query: exp.Expr) -> None:
        for arg in ("limit", "offset", "fetch"):
            if query.args.get(arg) is not None:
                self.fail(
                    query.args[arg],
                    f"{arg.upper()} decides which rows exist across all partitions",
                    "drop it, or filter with a per-partition window",
                )
                return

    def _distinct(
        self, select: exp.Select, keyed: Mapping[str, frozenset[str]], keys: frozenset[str]
    ) -> None:
        distinct = select.args.get("distinct")
        if distinct is None:
            return
        on = distinct.args.get("on")
        if on is not None:
            if not any(_key_ref(e, keyed) or _unqualified_key(e, keys) for e in on.expressions):
                self.fail(distinct, "DISTINCT ON does not include the partition key")
        elif not keys:
            self.fail(
                distinct,
                "DISTINCT without the partition key in the output would merge "
                "rows of different partitions",
            )


# ----------------------------------------------------------------------------- AST helpers


def _plain_table(table: exp.Table) -> bool:
    return isinstance(table.this, exp.Identifier)


def _first_select(scope: Scope) -> exp.Expr:
    return scope.expression


def _names(scope: Scope) -> list[str]:
    while scope.set_operation_scopes:
        scope = scope.set_operation_scopes[0]
    expression = scope.expression
    return (
        [s.alias_or_name for s in expression.selects] if isinstance(expression, exp.Query) else []
    )


def _own(select: exp.Select, kind: type[exp.Expr]) -> list[exp.Expr]:
    """Nodes of `kind` in this SELECT, not inside one of its subqueries."""
    found = []
    for node in select.find_all(kind):
        owner = node.find_ancestor(exp.Select)
        if owner is select:
            found.append(node)
    return found


def _key_ref(expression: exp.Expr, keyed: Mapping[str, frozenset[str]]) -> bool:
    """A bare column (aliased or not) that is the key of a non-nullable partitioned source."""
    node = expression.unalias() if isinstance(expression, exp.Alias) else expression
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Column) and node.name in keyed.get(node.table, frozenset())


def _unqualified_key(expression: exp.Expr, keys: frozenset[str]) -> bool:
    """An unqualified name (DISTINCT ON / ORDER BY refer to output columns) that is a key."""
    return isinstance(expression, exp.Column) and not expression.table and expression.name in keys


def _key_equalities(select: exp.Select) -> list[tuple[exp.Column, exp.Column]]:
    """Column = column conjuncts of every ON and of WHERE."""
    conditions = [j.args.get("on") for j in select.args.get("joins") or []]
    where = select.args.get("where")
    conditions.append(where.this if where is not None else None)
    pairs = []
    for condition in conditions:
        for part in condition.flatten() if isinstance(condition, exp.And) else [condition]:
            if (
                isinstance(part, exp.EQ)
                and isinstance(part.this, exp.Column)
                and isinstance(part.expression, exp.Column)
            ):
                pairs.append((part.this, part.expression))
    return pairs


def _end(
    column: exp.Column, partitioned: Mapping[str, _Source], outer: Mapping[str, frozenset[str]]
) -> str | None:
    """The union-find node a key column belongs to (None: not a key)."""
    source = partitioned.get(column.table)
    if source is not None:
        return column.table if column.name in source.keys else None
    if column.name in outer.get(column.table, frozenset()):
        return f"^{column.table}"
    return None


def _pair(first: _Source, other: _Source) -> str:
    """`a.key = b.key` for the two sources (their aliases: `<alias of ...>` for a self-join)."""
    left, right = first.label, other.label
    if left == right:
        left, right = f"<one {left}>", f"<other {right}>"
    return f"{left}.{min(first.keys, default='key')} = {right}.{min(other.keys, default='key')}"


def _position(node: exp.Expr | None, sql: str) -> Position:
    """Where `node` starts: the first token sqlglot located inside it (identifiers, literals,
    function names), else its parent's, else the query's first token."""
    while node is not None:
        starts = [int(n.meta["start"]) for n in node.walk() if "start" in n.meta]
        if starts:
            return offset_position(sql, min(starts))
        node = node.parent
    return first_token_position(sql)


def _volatile(root: exp.Expr, check: _Check) -> None:
    for func in root.find_all(exp.Func):
        name = func.name if isinstance(func, exp.Anonymous) else func.sql_name()
        if name.lower() in _VOLATILE:
            check.fail(
                func,
                f"{name.lower()}() gives other values on every run: a partial "
                "rebuild would not equal a full one",
            )


def shape_of(
    view: ViewDef, root: Scope, lineage: Lineage, schemas: Mapping[str, pa.Schema]
) -> tuple[Partitioning | None, list[Problem]]:
    """Check a declared view's query (its qualified AST's root scope) against its declaration.

    Returns the partitioning (None when anything failed) and every problem found."""
    spec = view.incremental
    if spec is None:
        return None, []
    if spec.no_drivers:
        return _published(view, spec, lineage)
    drivers, problems = resolve_drivers(view, spec, lineage, schemas)
    dependencies, dependency_problems = resolve_dependencies(view, spec, schemas)
    problems += dependency_problems
    if problems or not drivers:
        return None, problems
    check = _Check(view, {d.table: d.column for d in drivers})
    if len({d.table for d in drivers}) != len(drivers):
        check.fail(None, "a driver is listed with two partition columns")
    _volatile(root.expression, check)
    info = check.scope(root)
    if not check.problems and spec.partition_by not in info.keys:
        projection = next(
            (p for p in _root_selects(root) if p.alias_or_name == spec.partition_by), None
        )
        check.fail(
            projection,
            f"the output column {spec.partition_by!r} is not a driving "
            "input's partition column selected unchanged",
            "select the driver's column itself (no expression, not from an outer "
            "join's nullable side)",
        )
    if check.problems:
        return None, check.problems
    return Partitioning(column=spec.partition_by, drivers=drivers, dependencies=dependencies), []


def _published(
    view: ViewDef, spec: IncrementalSpec, lineage: Lineage
) -> tuple[Partitioning | None, list[Problem]]:
    """`drivers = none`: nothing to prove (every input is a lookup, so any change rebuilds the
    view whole); the partition column must only exist."""
    if spec.partition_by in lineage:
        return Partitioning(column=spec.partition_by, drivers=()), []
    at = Position(spec.line, spec.col) if spec.line else first_token_position(view.sql)
    return None, [_not_output(view, spec, lineage, at)]


def _not_output(view: ViewDef, spec: IncrementalSpec, lineage: Lineage, at: Position) -> Problem:
    return partition_problem(
        view,
        at,
        f"partition_by names {spec.partition_by!r}, which the view does not output",
        "output columns: " + ", ".join(lineage),
    )


def _root_selects(root: Scope) -> list[exp.Expr]:
    while root.set_operation_scopes:
        root = root.set_operation_scopes[0]
    expression = root.expression
    return list(expression.selects) if isinstance(expression, exp.Query) else []
