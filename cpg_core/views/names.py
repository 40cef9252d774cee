"""What a view or an input table may be called.

A name is used as the table name in SQL, as the folder of the table in the store
(`<store>/tables/<name>`), as a Hamilton node of the generated module and as a Dagster asset
key. So it is checked once, here, at compile time, against what all of them accept: never a path
(`..`, `a/b`, `/etc/x`, NUL), never a store-internal name (`_cpg*`), never a Python keyword or a
name the generated module already uses.
"""

from __future__ import annotations

import keyword
import re
from typing import Final

MAX_NAME_LENGTH: Final = 128  # the store's limit (cpg_core.store.delta_store.NAME_PATTERN)
NAME_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]*")
# The generated Hamilton module's own nodes and inputs (cpg_core.execute.codegen uses these).
PLAN_INPUT: Final = "execution_plan"
PLAN_NODES: Final = ("plan_signature", "task_schedule", "task_generations")
RUN_INPUT: Final = (
    "cpg_run"  # the run being executed, handed to the plan executor (no node reads it)
)
RESERVED_NAMES: Final = frozenset({PLAN_INPUT, RUN_INPUT, *PLAN_NODES})
# Per-view inputs of the generated module: `<view>__fingerprint`, `<view>__task`.
FINGERPRINT_SUFFIX: Final = "__fingerprint"
TASK_SUFFIX: Final = "__task"
RESERVED_SUFFIXES: Final = (FINGERPRINT_SUFFIX, TASK_SUFFIX)


def name_error(name: object) -> str | None:
    """Why `name` cannot name a view or an input table, or None when it can."""
    if not isinstance(name, str):
        return f"a name must be a string, not {type(name).__name__}"
    if not name:
        return "the name is empty"
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        return f"{name!r} is a path, not a name (a view or table must stay inside the store)"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is {len(name)} characters long; at most {MAX_NAME_LENGTH} are allowed"
    if name.startswith("_"):
        return f"{name!r} starts with '_', which is reserved (the store's own tables are _cpg*)"
    if NAME_PATTERN.fullmatch(name) is None:
        return (
            f"{name!r} must be lower-case letters, digits and '_', starting with a letter "
            "(it is the table name in SQL and the table's folder in the store)"
        )
    if keyword.iskeyword(name):
        return f"{name!r} is a Python keyword (views and inputs become Python functions)"
    if name in RESERVED_NAMES:
        return f"{name!r} is reserved for a node of the generated plan module"
    suffix = next((s for s in RESERVED_SUFFIXES if name.endswith(s)), None)
    if suffix is not None:
        return f"{name!r} ends with {suffix!r}, reserved for the generated plan module's inputs"
    return None
