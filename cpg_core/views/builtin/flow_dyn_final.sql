-- Value flow, round final: the rules earlier rounds created (`trigger` rows of
-- flow_round_0..9, their fields packed with chr(31)), unpacked, with the round that
-- created each. Its own step so that the planner knows how few rows a round creates.
-- Cross-file. Generated from cpg_core/views/templates/flow_dyn.sql.tmpl.
-- @materialize: inline
-- @keys: tkind, node, site, target, attr, slot, self_value, how
-- @layer: flow
SELECT node, round,
       nullif(split_part(value, chr(31), 1), '') AS tkind,
       nullif(split_part(value, chr(31), 2), '') AS site,
       nullif(split_part(value, chr(31), 3), '') AS target,
       nullif(split_part(value, chr(31), 4), '') AS attr,
       CAST(nullif(split_part(value, chr(31), 5), '') AS INT) AS slot,
       nullif(split_part(value, chr(31), 6), '') AS self_value,
       nullif(split_part(value, chr(31), 7), '') AS how
FROM (
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
    ) AS prev
WHERE kind = 'trigger'
