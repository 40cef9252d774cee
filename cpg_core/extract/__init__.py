"""Repository scan and Python extractors -> Arrow evidence tables (one flat table per entity).

Public API: ``scan_repo`` -> ``ScanResult`` (files + scan units), ``extract_file``/``extract_source``
(one file -> rows for every table), ``extract_unit`` (one unit -> tables), ``merge_evidence``
(deterministic merge), ``extract_repo`` (all of it, optionally in a spawn process pool), and the
``EVIDENCE_SCHEMAS`` contract. See docs/evidence_tables.md.
"""

from cpg_core.extract.file import FileEvidence, extract_file, extract_source
from cpg_core.extract.model import ExtractOptions, FileInfo, ScanResult, ScanUnit
from cpg_core.extract.scan import scan_repo
from cpg_core.extract.schema import EVIDENCE_SCHEMAS, TABLE_NAMES, empty_tables
from cpg_core.extract.tables import evidence_to_tables, merge_evidence
from cpg_core.extract.unit import extract_repo, extract_unit, extract_units

__all__ = [
    "EVIDENCE_SCHEMAS",
    "TABLE_NAMES",
    "ExtractOptions",
    "FileEvidence",
    "FileInfo",
    "ScanResult",
    "ScanUnit",
    "empty_tables",
    "evidence_to_tables",
    "extract_file",
    "extract_repo",
    "extract_source",
    "extract_unit",
    "extract_units",
    "merge_evidence",
    "scan_repo",
]
