-- Method resolution order: every repository class with each class of its `__mro__` as CPython
-- computes it (C3 linearization: the class, then the merge of its bases' linearizations and the
-- list of its bases), `depth` being the position (0 = the class itself). Bases outside the
-- repository (EXTERNAL, BUILTIN) take part as classes without bases (and are rows: `super()`
-- may end in one); unresolved bases are left out.
-- A class whose hierarchy has no C3 order (CPython raises TypeError), a cycle, or more than seven
-- bases keeps a breadth-first order instead (`exact` false).
-- How: a class whose ancestors all have at most one base has the chain of its bases as MRO (a
-- plain recursive walk, idx_class_c3_inputs). The others ("touched by multiple inheritance") go through one recursive
-- state machine: a class finishing hands its linearization to its subclasses once (the `fanout`
-- join, grouped by receiver: one reference to the recursive table); a waiting class keeps what
-- arrived, and when all its bases have arrived starts merging; a merging class takes one C3 step
-- per iteration (the first list head that is in no list's tail). Only unfinished classes stay in
-- the recursion.
-- Cross-file (bases may live in other files).
-- @keys: class_id, ancestor_id
-- @layer: index
WITH RECURSIVE
nodes AS (
    SELECT class_id, base_list, n_bases, mro FROM idx_class_c3_inputs WHERE kind = 'node'
),
fanout AS (
    SELECT src_id AS src, class_id AS dst, pos FROM idx_class_c3_inputs WHERE kind = 'fanout'
),
-- `pending`: while waiting, the linearizations that arrived; while merging, the lists to merge;
-- each list starts with a tag (the base position, '999' for the list of bases) so they sort
c3 AS (
    SELECT class_id, CASE WHEN n_bases = 0 THEN 'done' ELSE 'wait' END AS phase,
           coalesce(mro, make_array(class_id)) AS mro,
           arrow_cast(make_array(), 'List(List(Utf8))') AS pending,
           true AS changed, 0 AS it
    FROM nodes
    UNION ALL
    SELECT s.class_id,
           CASE
               WHEN s.phase = 'merge' AND s.chosen IS NULL AND s.remaining = 0 THEN 'done'
               WHEN s.phase = 'merge' AND s.chosen IS NULL THEN 'fail'
               ELSE s.phase
           END,
           CASE WHEN s.phase = 'merge' AND s.chosen IS NOT NULL
                THEN array_append(s.mro, s.chosen) ELSE s.mro END,
           CASE WHEN s.phase = 'merge' AND s.chosen IS NOT NULL THEN make_array(
                    array_remove(s.p1, s.chosen),
                    array_remove(s.p2, s.chosen),
                    array_remove(s.p3, s.chosen),
                    array_remove(s.p4, s.chosen),
                    array_remove(s.p5, s.chosen),
                    array_remove(s.p6, s.chosen),
                    array_remove(s.p7, s.chosen),
                    array_remove(s.p8, s.chosen))
                ELSE s.pending END,
           s.phase = 'merge' OR s.phase <> s.old_phase OR s.arrived,
           s.it + 1
    FROM (
        SELECT t.class_id, t.phase, t.old_phase, t.arrived, t.mro, t.pending, t.it, t.p1, t.p2, t.p3, t.p4, t.p5, t.p6, t.p7, t.p8,
               CASE
                   WHEN t.h1 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h1), false) THEN t.h1
                   WHEN t.h2 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h2), false) THEN t.h2
                   WHEN t.h3 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h3), false) THEN t.h3
                   WHEN t.h4 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h4), false) THEN t.h4
                   WHEN t.h5 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h5), false) THEN t.h5
                   WHEN t.h6 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h6), false) THEN t.h6
                   WHEN t.h7 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h7), false) THEN t.h7
                   WHEN t.h8 IS NOT NULL AND NOT coalesce(array_has(t.tails, t.h8), false) THEN t.h8
               END AS chosen,
               -- elements left besides each list's tag (cardinality counts nested elements)
               CAST(cardinality(t.pending) AS BIGINT)
                   - (CASE WHEN t.p1 IS NULL THEN 0 ELSE 1 END + CASE WHEN t.p2 IS NULL THEN 0 ELSE 1 END + CASE WHEN t.p3 IS NULL THEN 0 ELSE 1 END + CASE WHEN t.p4 IS NULL THEN 0 ELSE 1 END + CASE WHEN t.p5 IS NULL THEN 0 ELSE 1 END + CASE WHEN t.p6 IS NULL THEN 0 ELSE 1 END + CASE WHEN t.p7 IS NULL THEN 0 ELSE 1 END + CASE WHEN t.p8 IS NULL THEN 0 ELSE 1 END) AS remaining
        FROM (
            SELECT u.class_id, u.phase, u.old_phase, u.arrived, u.mro, u.pending, u.it, u.p1, u.p2, u.p3, u.p4, u.p5, u.p6, u.p7, u.p8,
                   u.p1[2] AS h1,
                   u.p2[2] AS h2,
                   u.p3[2] AS h3,
                   u.p4[2] AS h4,
                   u.p5[2] AS h5,
                   u.p6[2] AS h6,
                   u.p7[2] AS h7,
                   u.p8[2] AS h8,
                   flatten(make_array(
                       array_slice(u.p1, 3, CAST(cardinality(u.p1) AS BIGINT)),
                       array_slice(u.p2, 3, CAST(cardinality(u.p2) AS BIGINT)),
                       array_slice(u.p3, 3, CAST(cardinality(u.p3) AS BIGINT)),
                       array_slice(u.p4, 3, CAST(cardinality(u.p4) AS BIGINT)),
                       array_slice(u.p5, 3, CAST(cardinality(u.p5) AS BIGINT)),
                       array_slice(u.p6, 3, CAST(cardinality(u.p6) AS BIGINT)),
                       array_slice(u.p7, 3, CAST(cardinality(u.p7) AS BIGINT)),
                       array_slice(u.p8, 3, CAST(cardinality(u.p8) AS BIGINT)))) AS tails
            FROM (
                SELECT v.class_id, v.phase, v.old_phase, v.arrived, v.mro, v.pending, v.it,
                       v.pending[1] AS p1, v.pending[2] AS p2, v.pending[3] AS p3, v.pending[4] AS p4, v.pending[5] AS p5, v.pending[6] AS p6, v.pending[7] AS p7, v.pending[8] AS p8
                FROM (
                    -- a waiting class that has all its bases: single inheritance is its base's
                    -- linearization after it; otherwise start merging
                    SELECT a.class_id, a.old_phase, a.arrived, a.it,
                           CASE
                               WHEN a.old_phase <> 'wait' OR a.n_have < a.n_bases THEN a.old_phase
                               WHEN a.n_bases = 1 THEN 'done'
                               WHEN a.n_bases > 7 THEN 'fail'
                               ELSE 'merge'
                           END AS phase,
                           CASE WHEN a.old_phase = 'wait' AND a.n_have >= a.n_bases AND a.n_bases = 1
                                THEN array_concat(a.mro, array_slice(a.acc[1], 2, CAST(cardinality(a.acc[1]) AS BIGINT)))
                                ELSE a.mro END AS mro,
                           CASE WHEN a.old_phase = 'wait' AND a.n_have >= a.n_bases
                                THEN array_append(array_sort(a.acc), array_concat(make_array('999'), a.base_list))
                                ELSE a.acc END AS pending
                    FROM (
                        SELECT g.class_id, g.phase AS old_phase, g.mro, g.it, n.n_bases, n.base_list,
                               g.arrivals IS NOT NULL AS arrived,
                               CASE WHEN g.phase = 'wait' AND g.arrivals IS NOT NULL
                                    THEN array_concat(g.pending, g.arrivals) ELSE g.pending END AS acc,
                               coalesce(CAST(array_length(g.pending) AS BIGINT), 0)
                                   + coalesce(CAST(array_length(g.arrivals) AS BIGINT), 0) AS n_have
                        FROM (
                            SELECT f.dst AS class_id,
                                   max(CASE WHEN f.pos < 0 THEN w.phase END) AS phase,
                                   array_agg(w.mro) FILTER (WHERE f.pos < 0) [1] AS mro,
                                   array_agg(w.pending) FILTER (WHERE f.pos < 0) [1] AS pending,
                                   array_agg(array_concat(make_array(lpad(CAST(f.pos AS VARCHAR), 3, '0')), w.mro))
                                       FILTER (WHERE f.pos >= 0 AND w.phase = 'done') AS arrivals,
                                   max(w.it) AS it,
                                   max(w.any_changed) AS any_changed
                            FROM (
                                SELECT c.class_id, c.phase, c.mro, c.pending, c.it,
                                       max(CASE WHEN c.changed THEN 1 ELSE 0 END) OVER () AS any_changed
                                FROM c3 AS c
                            ) AS w
                            JOIN fanout AS f ON f.src = w.class_id
                            GROUP BY f.dst
                        ) AS g
                        JOIN nodes AS n ON n.class_id = g.class_id
                        WHERE g.phase IN ('wait', 'merge') AND g.any_changed = 1 AND g.it < 500
                    ) AS a
                ) AS v
            ) AS u
        ) AS t
    ) AS s
),
-- a linearization that repeats a class comes from a cycle (`class C(C)` where the base name
-- resolves to the class itself): such a class takes the breadth-first order below
final AS (
    SELECT class_id, mro
    FROM (
        SELECT DISTINCT c.class_id, c.mro
        FROM c3 AS c
        JOIN nodes AS n ON n.class_id = c.class_id AND n.n_bases > 0
        WHERE c.phase = 'done'
        UNION ALL
        SELECT class_id, mro FROM idx_class_c3_inputs WHERE kind = 'chain'
    ) AS linearized
    WHERE cardinality(array_distinct(mro)) = cardinality(mro)
),
-- breadth-first fallback for classes C3 cannot order
bfs AS (
    SELECT d.def_id AS class_id, d.def_id AS ancestor_id, 0 AS depth,
           CAST('' AS VARCHAR) AS mro_key
    FROM defs AS d
    LEFT JOIN final AS f ON f.class_id = d.def_id
    WHERE d.kind = 'class' AND f.class_id IS NULL
    UNION ALL
    SELECT m.class_id, i.base_id, m.depth + 1,
           m.mro_key || lpad(CAST(i.base_position AS VARCHAR), 3, '0') || '.'
    FROM bfs AS m
    JOIN res_inheritance AS i ON i.class_id = m.ancestor_id AND i.base_kind = 'CLASS'
    WHERE m.depth < 30
)
SELECT class_id, ancestor_id, depth, true AS exact
FROM (
    SELECT f.class_id, unnest(f.mro) AS ancestor_id,
           unnest(range(0, CAST(cardinality(f.mro) AS BIGINT))) AS depth
    FROM final AS f
) AS e
UNION ALL
SELECT class_id, ancestor_id, CAST(position - 1 AS BIGINT), false
FROM (
    SELECT class_id, ancestor_id,
           row_number() OVER (PARTITION BY class_id ORDER BY min_depth, min_key, ancestor_id) AS position
    FROM (
        SELECT class_id, ancestor_id, min(depth) AS min_depth, min(mro_key) AS min_key
        FROM bfs
        GROUP BY class_id, ancestor_id
    ) AS g
) AS b
