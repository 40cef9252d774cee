"""View fingerprints and plan signatures (SQLMesh-style: immutable records, composing hashes).

A view's fingerprint hashes its canonical SQL (so whitespace, case, comments and table aliases
do not matter) plus the fingerprints of the inline views folded into it. The plan signature
hashes the canonical graph snapshot and the sqlglot version the canonical SQL came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import version

from cpg_core.plan.hashing import hash_value, sha256_hex

SQLGLOT_VERSION = version("sqlglot")

FINGERPRINT_FORMAT = "cpg-view/1"
SIGNATURE_FORMAT = "cpg-plan/1"


def canonical_sql_hash(canonical_sql: str) -> str:
    """Hash of one view's canonical SQL (the part of a fingerprint that the view itself owns)."""
    return sha256_hex(canonical_sql)


def view_fingerprint(sql_hash: str, inlined: Mapping[str, str]) -> str:
    """Fingerprint = own canonical SQL hash + fingerprints of inlined upstream views, by name."""
    return hash_value([FINGERPRINT_FORMAT, sql_hash, sorted(inlined.items())])


def plan_signature(
    tasks: Mapping[str, str],
    datasets: Mapping[str, str],
    edges: Iterable[tuple[str, str, tuple[str, ...]]],
) -> str:
    """Signature of a (sub)plan: task fingerprints, input dataset schema hashes, edges+columns."""
    return hash_value(
        {
            "format": SIGNATURE_FORMAT,
            "sqlglot": SQLGLOT_VERSION,
            "tasks": sorted(tasks.items()),
            "datasets": sorted(datasets.items()),
            "edges": sorted([src, dst, list(cols)] for src, dst, cols in edges),
        }
    )
