"""Export JSON Schemas of every contract (committed under cpg_core/artifacts/schemas/)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from cpg_core.artifacts.contracts import CONTRACTS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_texts() -> dict[str, str]:
    """File name → JSON Schema text (stable formatting, sorted keys)."""
    return {
        f"{name}.schema.json": json.dumps(msgspec.json.schema(contract), indent=2, sort_keys=True)
        + "\n"
        for name, contract in sorted(CONTRACTS.items())
    }


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_texts().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
