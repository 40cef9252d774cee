"""The value-flow rounds are generated SQL: one template per view kind, one file per round.

`python -m tests.cpg.flow_rounds` rewrites the generated files; `test_flow_rounds` fails when they
differ from what the templates give (edit the template, never a generated file).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.paths import REPO_ROOT

TEMPLATES = REPO_ROOT / "cpg_core" / "views" / "templates"
BUILTIN = REPO_ROOT / "cpg_core" / "views" / "builtin"
ROUNDS = 9  # rounds after round 0; docs/cpg_schema.md says how this was chosen
CAP = 8  # values a node may hold before it saturates (docs/cpg_schema.md)
KINDS = ("dyn", "fire", "spawn", "fired", "inv", "rules", "graph", "round")
EXTRA = ("flow_pts", "flow_calls", "flow_convergence")  # views over all rounds
PATTERNS = tuple(f"flow_{kind}_*.sql" for kind in KINDS)


def prev_rows(last: int) -> str:
    """A subquery of every row of flow_round_0..last (each round stores only what it adds)."""
    parts = [f"SELECT kind, node, value, round FROM flow_round_{r}" for r in range(last + 1)]
    return "(\n        " + "\n        UNION ALL\n        ".join(parts) + "\n    )"


def generated() -> dict[Path, str]:
    """Every generated view file and its text."""
    texts = {k: (TEMPLATES / f"flow_{k}.sql.tmpl").read_text(encoding="utf-8") for k in KINDS}
    out: dict[Path, str] = {}
    for r in [*range(1, ROUNDS + 1), "final"]:
        prev_round = ROUNDS if r == "final" else int(r) - 1
        fields = {
            "round": r,
            "prev_round": prev_round,
            "prev_rows": prev_rows(prev_round),
            "cap": CAP,
        }
        for kind, text in texts.items():
            if kind in ("graph", "round") and r == "final":
                continue
            out[BUILTIN / f"flow_{kind}_{r}.sql"] = text.format(**fields)
    for name in EXTRA:
        text = (TEMPLATES / f"{name}.sql.tmpl").read_text(encoding="utf-8")
        out[BUILTIN / f"{name}.sql"] = text.format(prev_rows=prev_rows(ROUNDS), rounds=ROUNDS)
    return out


def stale() -> list[Path]:
    """Generated files that are missing or differ, plus leftovers of more rounds."""
    files = generated()
    bad = [
        p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    for pattern in PATTERNS:
        bad += [p for p in BUILTIN.glob(pattern) if p not in files and p.name != "flow_round_0.sql"]
    return sorted(bad)


def main() -> int:
    for pattern in PATTERNS:
        for p in BUILTIN.glob(pattern):
            if p.name != "flow_round_0.sql":
                p.unlink()
    for path, text in generated().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
