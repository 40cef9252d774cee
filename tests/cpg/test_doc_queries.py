"""The example queries in docs/cpg_schema.md run and return exactly the results shown there."""

from __future__ import annotations

from tests.cpg.build import CpgBuild
from tests.cpg.doc_queries import DOC, examples, run_query


def test_doc_examples_match_the_fixture(fixture_cpg: CpgBuild) -> None:
    pairs = examples(DOC.read_text(encoding="utf-8"))
    assert len(pairs) >= 3
    tables = {name: fixture_cpg.outputs[name] for name in ("cpg_nodes", "cpg_edges", "cpg_props")}
    for sql, expected in pairs:
        assert run_query(sql, tables) == expected, sql
