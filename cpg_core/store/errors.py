"""The store's exceptions: one base class so callers can catch every store failure at once."""

from __future__ import annotations


class StoreError(Exception):
    """Any failure of the store; the message says which table and what is still intact."""


class InvalidNameError(StoreError, ValueError):
    """A dataset name that is not `[a-z_][a-z0-9_]*`, is reserved, or would leave the store."""


class TableNotFoundError(StoreError, KeyError):
    """The table (or the requested version of it) does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StoreConflictError(StoreError):
    """Another writer got there first; nothing of this write became visible."""


class StoreBusyError(StoreConflictError):
    """The store lock is held by another process (it names the holder) for longer than we waited."""


class StoreWriteError(StoreError):
    """A write failed (disk full, I/O error, unstorable type); the previous version is intact."""


class DamagedTableError(StoreError):
    """A stored version's data files are missing or not the size its commit recorded."""
