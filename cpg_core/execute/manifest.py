"""The run manifest, re-exported: the contract lives with the other artifact contracts in
`cpg_core.artifacts.contracts` (JSON Schema `run_manifest.schema.json`, goldens under
tests/golden/artifacts) and its encoders in `cpg_core.artifacts.envelope`. This module keeps
`from cpg_core.execute.manifest import ...` working.
"""

from __future__ import annotations

from cpg_core.artifacts.contracts import (
    MANIFEST_FORMAT,
    CacheLineage,
    OutputVersion,
    RoutingDecision,
    RunManifest,
)
from cpg_core.artifacts.envelope import cache_lineage_json, decode_manifest, manifest_json

__all__ = [
    "MANIFEST_FORMAT",
    "CacheLineage",
    "OutputVersion",
    "RoutingDecision",
    "RunManifest",
    "cache_lineage_json",
    "decode_manifest",
    "manifest_json",
]
