"""Regenerate the screenshots of docs/dagster_guide.md from a real `dg dev`.

    .venv/bin/python docs/screenshots/take_screenshots.py            # writes docs/screenshots/*.png

Starts `dg dev -w workspace.yaml` the way the tests do (tests/dagster/webserver.py: its own
process group, a temporary DAGSTER_HOME and store, CPG_REPO = the fixture repository unless
`--repo` says otherwise), materializes every asset of `cpg_build_all` over GraphQL, then drives
the system Chromium (headless, over the DevTools pipe; `CPG_CHROMIUM` names another binary)
through the pages the guide shows. Nothing is downloaded; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.dagster.webserver import (  # noqa: E402 (needs the repository root on sys.path)
    FIXTURE_REPO,
    Chromium,
    DagsterDev,
    chromium_executable,
)


@dataclass(frozen=True)
class Shot:
    """One screenshot: the page, what must be on it first, the viewport, an action before."""

    name: str
    path: str
    wait_for: tuple[str, ...]
    absent: tuple[str, ...] = ()
    width: int = 1440
    height: int = 900
    action: Callable[[Chromium], None] | None = None
    settle_s: float = 3.0


def _show_schedule(browser: Chromium) -> None:
    browser.click_text("[Show JSON]")  # the first JSON entry is `schedule`
    browser.wait_for_text("ordered_tasks")
    browser.evaluate(  # the dialog opens scrolled to its end: show the top of the JSON
        "document.querySelectorAll('*').forEach(e => { if (e.scrollTop > 0) e.scrollTop = 0; })"
    )


SHOTS = (
    Shot(
        "asset_graph",
        "/asset-groups",
        ("Global asset lineage", "evidence", "cpg_plan"),
        absent=("fetching statuses", "Loading"),
    ),
    Shot(
        "catalog",
        "/assets",
        ("cpg_nodes", "cpg_edges", "files", "plan", "repo"),
        absent=("Loading",),
        height=1500,
    ),
    Shot(
        "view_lineage",
        "/assets/cpg_nodes?view=lineage&lineageScope=upstream&lineageDepth=1",
        ("Upstream", "cpg_nodes", "defs"),
        height=1100,
    ),
    Shot(
        "view_page",
        "/assets/cpg_nodes",
        ("Columns", "parent_id", "cpg.fingerprint", "Row count"),
        height=2000,
    ),
    Shot(
        "plan_metadata",
        "/assets/cpg/plan",
        ("cpg.run_manifest_id", "Critical path", "critical_path"),
        width=1800,
        height=1250,
    ),
    Shot(
        "plan_schedule",
        "/assets/cpg/plan",
        ("cpg.run_manifest_id", "[Show JSON]"),
        height=1000,
        action=_show_schedule,
    ),
    Shot(
        "automation",
        "/automation",
        ("cpg_change_sensor", "cpg_nightly", "cpg_automation"),
        height=700,
    ),
)


def take(server: DagsterDev, browser: Chromium, out: Path, shots: tuple[Shot, ...]) -> None:
    for shot in shots:
        browser.resize(shot.width, shot.height)
        browser.goto(server.url + shot.path)
        browser.wait_for_text(
            *shot.wait_for, absent=shot.absent, timeout_s=120, settle_s=shot.settle_s
        )
        if shot.action is not None:
            shot.action(browser)
            time.sleep(shot.settle_s)
        path = out / f"{shot.name}.png"
        browser.screenshot(path)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--repo", type=Path, default=FIXTURE_REPO, help="CPG_REPO")
    parser.add_argument("--only", nargs="*", help="names of the screenshots to take")
    args = parser.parse_args(argv)
    executable = chromium_executable()
    if executable is None:
        parser.error("no Chromium on PATH: apt-get install chromium (or set CPG_CHROMIUM)")
    shots = tuple(s for s in SHOTS if not args.only or s.name in args.only)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cpg-screenshots-") as folder:
        print("starting dg dev ...", flush=True)
        server = DagsterDev.start(Path(folder), repo=args.repo)
        try:
            server.graphql("mutation { setNuxSeen }")  # no community pop-up over the pages
            print("materializing every asset of cpg_build_all ...", flush=True)
            server.wait_for_run(server.launch())
            with Chromium(executable) as browser:
                take(server, browser, args.out, shots)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
