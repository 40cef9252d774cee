-- Call targets found by value flow (the `call` rows of every round and of the rules the last
-- round's new facts fire): one row per (call site, target), for
-- explicit calls (`calls`) and implicit call sites (`sites`: decorators, `for`, `with`, `raise`,
-- operators, subscripts, property reads). `how` is the rule (flow_dyn_N); `alternatives` counts
-- the targets that are alternatives for this one: every value the callee may hold for a plain
-- call, the dunder or constructor of the same name for implicit calls (`__enter__` and
-- `__exit__` of one `with` are no alternatives).
-- Cross-file. Generated from cpg_core/views/templates/flow_calls.sql.tmpl.
-- @keys: call_id, target_id
-- @layer: flow
WITH found AS (
    SELECT node, value FROM (
        SELECT kind, node, value, round FROM flow_round_0
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_1
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_2
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_3
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_4
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_5
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_6
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_7
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_8
        UNION ALL
        SELECT kind, node, value, round FROM flow_round_9
    ) AS rows WHERE kind = 'call'
    UNION
    SELECT node, value FROM flow_rules_final WHERE kind = 'call'
),
raw AS (
    SELECT node AS call_id, split_part(value, chr(31), 1) AS target_id,
           split_part(value, chr(31), 2) AS how,
           row_number() OVER (
               PARTITION BY node, split_part(value, chr(31), 1)
               ORDER BY CASE split_part(value, chr(31), 2)
                            WHEN 'value_flow' THEN 0 WHEN 'value_flow_method' THEN 1
                            WHEN 'value_flow_constructor' THEN 2 ELSE 3 END
           ) AS rn
    FROM found
),
typed AS (
    SELECT r.call_id, r.target_id, r.how,
           CASE
               WHEN d.node_kind IS NOT NULL THEN d.node_kind
               WHEN r.target_id LIKE 'builtin:%' THEN 'BUILTIN'
               ELSE 'EXTERNAL'
           END AS target_kind,
           CASE WHEN r.how IN ('value_flow_dunder', 'value_flow_constructor')
                THEN coalesce(d.name, '') ELSE '' END AS alt_group
    FROM raw AS r
    LEFT JOIN idx_def_nodes AS d ON d.def_id = r.target_id
    WHERE r.rn = 1 AND (d.def_id IS NOT NULL OR r.target_id NOT LIKE 'def:%')
)
-- (`split_part` over a VARCHAR cast gives string views: the public tables keep plain strings)
SELECT arrow_cast(call_id, 'Utf8') AS call_id, arrow_cast(target_id, 'Utf8') AS target_id,
       target_kind, arrow_cast(how, 'Utf8') AS how,
       count(*) OVER (PARTITION BY call_id, how, alt_group) AS alternatives
FROM typed
