"""The leading comment block: description, keys, materialization and the semantic contract."""

from __future__ import annotations

from cpg_core.views.loader import view_from_text
from cpg_core.views.model import SemanticContract


def test_metadata_block_is_read() -> None:
    view, problems = view_from_text(
        "calls_resolved",
        "-- Call sites resolved to their most likely target.\n"
        "-- One row per call.\n"
        "-- @keys: call_id\n"
        "-- @materialize: inline\n"
        "-- @layer: resolution\n-- @entity: call\n-- @grain: call site\n"
        "-- @entity_keys: call_id\n-- @join_keys: call_id, def_id\n"
        "-- @version: 2\n-- @stability: stable\n-- @owners: team-cpg, alice@example.com\n"
        "-- @tags: core\n"
        "select 1 as call_id\n-- @keys: not_metadata (after the query starts)\n",
        path="views/calls_resolved.sql",
    )
    assert problems == []
    assert view.description == "Call sites resolved to their most likely target. One row per call."
    assert view.keys == ("call_id",)
    assert view.materialize == "inline" and not view.persisted
    assert view.tags == ("core",)
    assert view.semantic == SemanticContract(
        layer="resolution",
        entity="call",
        grain="call site",
        entity_keys=("call_id",),
        join_keys=("call_id", "def_id"),
        version="2",
        stability="stable",
        owners=("team-cpg", "alice@example.com"),
    )


def test_unknown_key_and_bad_materialize_are_reported_with_lines() -> None:
    _, problems = view_from_text(
        "v", "-- ok\n-- @matrialize: inline\n  -- @materialize: view\nselect 1", path="views/v.sql"
    )
    assert [p.format() for p in problems] == [
        "views/v.sql:2:4: v: [invalid_metadata] unknown metadata key @matrialize (known keys: "
        "column, contract, description, entity, entity_keys, grain, join_keys, keys, layer, "
        "materialize, owners, stability, tags, test, version)",
        "views/v.sql:3:6: v: [invalid_metadata] @materialize must be 'table' or 'inline', not 'view'",
    ]


def test_no_metadata_means_defaults() -> None:
    view, problems = view_from_text("v", "select 1 as x")
    assert (view.description, view.keys, view.materialize, view.semantic, problems) == (
        "",
        (),
        "table",
        None,
        [],
    )
