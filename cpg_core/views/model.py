"""A view: one read-only SQL query plus the metadata its leading comment block declares."""

from __future__ import annotations

from typing import Literal

import msgspec

Materialize = Literal["table", "inline"]


class SemanticContract(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The semantic tags of a public output: what one row is and how to join it."""

    layer: str | None = None
    entity: str | None = None
    grain: str | None = None
    entity_keys: tuple[str, ...] = ()
    join_keys: tuple[str, ...] = ()
    version: str | None = None
    stability: str | None = None
    owners: tuple[str, ...] = ()


class ViewDef(msgspec.Struct, frozen=True, kw_only=True):
    """A view as loaded (from a file or built in code). Its name is the table name others read."""

    name: str
    sql: str
    path: str | None = None
    description: str = ""
    keys: tuple[str, ...] = ()
    materialize: Materialize = "table"
    semantic: SemanticContract | None = None
    tags: tuple[str, ...] = ()
    builtin: bool = False

    @property
    def persisted(self) -> bool:
        """Persisted views become stored tables (and Dagster assets); inline ones fold into readers."""
        return self.materialize == "table"
