"""A real `dagster dev` for end-to-end tests, and a headless Chromium to look at its UI.

`DagsterDev.start` runs `dagster dev -w workspace.yaml` from the repository root in its own
process group, exactly as a user would, with everything it writes kept under one folder:
`DAGSTER_HOME` (telemetry off, runs launched at once by the `DefaultRunCoordinator`), the Delta
store (`CPG_STORE`) and the server log. `CPG_REPO` names the repository whose CPG the default code
location builds (`cpg_dagster/defaults.py`). It waits for `/server_info`, then for the code
location to be LOADED, and `stop` ends the whole process group.

`Chromium` drives the system Chromium over the DevTools protocol on a pipe (`--remote-debugging-
pipe`): no browser download, no extra Python package, no debugging port.

Used by `tests/dagster/test_webserver.py`, `tests/dagster/test_browser.py` (through the session
fixtures below, registered with `pytest_plugins`) and `docs/screenshots/take_screenshots.py`.
Imported by the tests before pytest registers it as a plugin, hence PYTEST_DONT_REWRITE (it has
no assertions of its own).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from dagster_graphql import DagsterGraphQLClient

from tests.paths import FIXTURE_REPO, REPO_ROOT

LOCATION = "cpg"  # workspace.yaml's location_name
REPOSITORY = "__repository__"  # the repository name Dagster gives a `Definitions` object
JOB = "cpg_build_all"  # cpg_dagster.definitions.JOB_NAME
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""

METADATA_FRAGMENT = """
fragment Entry on MetadataEntry {
  label
  __typename
  ... on TextMetadataEntry { text }
  ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue }
  ... on BoolMetadataEntry { boolValue }
  ... on JsonMetadataEntry { jsonString }
  ... on MarkdownMetadataEntry { mdStr }
  ... on PathMetadataEntry { path }
  ... on UrlMetadataEntry { url }
  ... on TableSchemaMetadataEntry { schema { columns { name type } } }
  ... on TableColumnLineageMetadataEntry {
    lineage { columnName columnDeps { assetKey { path } columnName } }
  }
}
"""

ASSET_QUERY = (
    """
query Asset($key: AssetKeyInput!, $limit: Int!) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset {
      assetMaterializations(limit: $limit) { runId timestamp metadataEntries { ...Entry } }
      definition { metadataEntries { ...Entry } }
    }
  }
}
"""
    + METADATA_FRAGMENT
)

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      status
      eventConnection(afterCursor: null) {
        events {
          __typename
          ... on MessageEvent { message }
          ... on ExecutionStepFailureEvent { error { message } }
          ... on RunFailureEvent { pythonError { message } }
        }
      }
    }
  }
}
"""

ASSET_NODES_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    jobNames
    isMaterializable
    assetMaterializations(limit: 1) { runId }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name executionForLatestMaterialization { runId status } } }
    }
  }
}
"""

LOCATIONS_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message stack } }
      }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def entry_value(entry: Mapping[str, Any]) -> Any:
    """The plain value of one GraphQL metadata entry (JSON decoded, tables as dicts)."""
    kind = entry["__typename"]
    if kind == "JsonMetadataEntry":
        return json.loads(entry["jsonString"])
    if kind == "TableColumnLineageMetadataEntry":
        return {
            lineage["columnName"]: [
                ("/".join(dep["assetKey"]["path"]), dep["columnName"])
                for dep in lineage["columnDeps"]
            ]
            for lineage in entry["lineage"]
        }
    if kind == "TableSchemaMetadataEntry":
        return {c["name"]: c["type"] for c in entry["schema"]["columns"]}
    values = [v for k, v in entry.items() if k not in ("label", "__typename")]
    return values[0] if values else None


def metadata_of(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`{label: plain value}` of a list of GraphQL metadata entries."""
    return {entry["label"]: entry_value(entry) for entry in entries}


@dataclass(frozen=True)
class AssetNode:
    """One asset of the code location: its jobs, latest materialization, latest checks."""

    key: str
    group: str
    jobs: tuple[str, ...]
    materializable: bool
    latest_run: str | None
    checks: dict[str, tuple[str, str]]  # name -> (run id, status) for the latest materialization


@dataclass(frozen=True)
class Materialization:
    run_id: str
    timestamp: float
    metadata: dict[str, Any]


@dataclass
class DagsterDev:
    """A running `dagster dev` (see the module docstring)."""

    process: subprocess.Popen[bytes]
    port: int
    folder: Path
    log: Path
    client: DagsterGraphQLClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=120)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> Path:
        return self.folder / "store"

    @classmethod
    def start(
        cls, folder: Path, *, repo: Path = FIXTURE_REPO, timeout_s: float = 240.0
    ) -> DagsterDev:
        """Start `dagster dev -w workspace.yaml` (state under `folder`) and wait until loaded."""
        home = folder / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
        port = free_port()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "CPG_REPO": str(repo.resolve()),
            "CPG_STORE": str(folder / "store"),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "PYTHONUNBUFFERED": "1",
        }
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        log = folder / "dagster_dev.log"
        command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml"]
        command += ["-h", "127.0.0.1", "-p", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends all of it
            )
        server = cls(process=process, port=port, folder=folder, log=log)
        try:
            server.wait_until_loaded(timeout_s)
        except BaseException:
            server.stop()
            raise
        return server

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    def _fail(self, message: str) -> RuntimeError:
        return RuntimeError(f"{message}\n--- dagster dev log (tail) ---\n{self.log_tail()}")

    def wait_until_loaded(self, timeout_s: float) -> None:
        """Poll `/server_info`, then the workspace until the code location is LOADED."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise self._fail(f"dagster dev exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise self._fail(f"dagster dev did not answer within {timeout_s:.0f} s")
            try:
                if requests.get(f"{self.url}/server_info", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        while True:
            entries = self.graphql(LOCATIONS_QUERY)["workspaceOrError"].get("locationEntries")
            entry = next((e for e in entries or [] if e["name"] == LOCATION), None)
            if entry is not None and entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"]
                if loaded and loaded["__typename"] == "PythonError":
                    raise self._fail(f"code location {LOCATION!r} failed to load: {loaded}")
                return
            if self.process.poll() is not None:
                raise self._fail(f"dagster dev exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise self._fail(f"code location {LOCATION!r} not loaded: {entry}")
            time.sleep(0.5)

    def stop(self, grace_s: float = 10.0) -> None:
        """Ctrl-C `dagster dev` (its graceful shutdown), then SIGKILL the whole process group.

        `dagster dev` often keeps waiting on its children after SIGINT/SIGTERM; everything it
        wrote is under `folder`, so a hard stop after a short grace period loses nothing.
        """
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # webserver, daemon, code servers, runs
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    # -- GraphQL -------------------------------------------------------------------------------

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST one GraphQL query; raise on transport or GraphQL errors."""
        response = requests.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=120,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def launch(
        self,
        assets: Sequence[str] | None = None,
        *,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Submit a run of the `cpg_build_all` job (only `assets` when given: `a/b` keys)."""
        return self.client.submit_job_execution(
            JOB,
            repository_location_name=LOCATION,
            repository_name=REPOSITORY,
            run_config=dict(run_config or {}),
            tags=dict(tags or {}),
            asset_selection=[a.split("/") for a in assets] if assets is not None else None,
        )

    def wait_for_run(self, run_id: str, timeout_s: float = 300.0) -> str:
        """Poll until the run ends; its final status (the errors of a failed run are raised)."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.client.get_run_status(run_id).value
            if status in TERMINAL:
                break
            if time.monotonic() > deadline:
                raise self._fail(f"run {run_id} still {status} after {timeout_s:.0f} s")
            time.sleep(1.0)
        if status != "SUCCESS":
            raise self._fail(f"run {run_id} ended {status}:\n{self.run_errors(run_id)}")
        return status

    def run_errors(self, run_id: str) -> str:
        run = self.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]
        lines: list[str] = []
        for event in run.get("eventConnection", {}).get("events", []):
            error = event.get("error") or event.get("pythonError")
            if error:
                lines.append(f"{event['__typename']}: {error['message']}")
        return "\n".join(lines) or json.dumps(run)[:4000]

    def asset(self, key: str, limit: int = 10) -> dict[str, Any]:
        data = self.graphql(ASSET_QUERY, {"key": {"path": key.split("/")}, "limit": limit})
        asset = data["assetOrError"]
        if asset["__typename"] != "Asset":
            raise KeyError(f"no asset {key!r}: {asset['__typename']}")
        return asset

    def materializations(self, key: str, limit: int = 10) -> list[Materialization]:
        """The asset's materializations, newest first, with plain metadata values."""
        return [
            Materialization(
                run_id=m["runId"],
                timestamp=float(m["timestamp"]),
                metadata=metadata_of(m["metadataEntries"]),
            )
            for m in self.asset(key, limit)["assetMaterializations"]
        ]

    def asset_nodes(self) -> dict[str, AssetNode]:
        """Every asset of the code location by key (`a/b`), in one query."""
        nodes: dict[str, AssetNode] = {}
        for node in self.graphql(ASSET_NODES_QUERY)["assetNodes"]:
            key = "/".join(node["assetKey"]["path"])
            latest = node["assetMaterializations"]
            checks = node["assetChecksOrError"].get("checks") or []
            nodes[key] = AssetNode(
                key=key,
                group=node["groupName"],
                jobs=tuple(node["jobNames"]),
                materializable=node["isMaterializable"],
                latest_run=latest[0]["runId"] if latest else None,
                checks={
                    c["name"]: (e["runId"], e["status"])
                    for c in checks
                    if (e := c["executionForLatestMaterialization"]) is not None
                },
            )
        return nodes

    def definition_metadata(self, key: str) -> dict[str, Any]:
        definition = self.asset(key, 1)["definition"]
        return metadata_of(definition["metadataEntries"] if definition else [])


# -- Chromium over the DevTools protocol ---------------------------------------------------------


def chromium_executable() -> str | None:
    """`$CPG_CHROMIUM`, else the first of chromium / chromium-browser / google-chrome on PATH."""
    configured = os.environ.get("CPG_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else shutil.which(configured)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium with one page, driven over `--remote-debugging-pipe`.

    The protocol on the pipe is JSON messages ended by a NUL byte: Chromium reads commands on
    its fd 3 and writes responses and events on its fd 4.
    """

    def __init__(
        self, executable: str, *, width: int = 1600, height: int = 1000, scale: float = 1.0
    ) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="cpg-chromium-")
        self.log = Path(self.profile.name) / "chromium.log"
        self._log = self.log.open("wb")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def pipes_to_3_and_4() -> None:  # runs in the child, before exec
            read, write = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(read, 3)
            os.dup2(write, 4)

        args = [
            executable,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # root in containers and CI
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
            "--mute-audio",
            f"--user-data-dir={self.profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            close_fds=False,  # Python's own fds are not inheritable (PEP 446); 3 and 4 are
            preexec_fn=pipes_to_3_and_4,
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._ids = itertools.count(1)
        self._buffer = b""
        self.events: list[dict[str, Any]] = []
        self.session = ""
        try:
            targets = self.call("Target.getTargets", session=False)["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            attached = self.call(
                "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, False
            )
            self.session = attached["sessionId"]
            self.call("Page.enable")
            self.call("Runtime.enable")
            self.resize(width, height, scale)
        except BaseException:
            self.close()
            raise

    def resize(self, width: int, height: int, scale: float = 1.0) -> None:
        """The page's viewport in CSS pixels (screenshots are `scale` times that)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
        )

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                self._send({"id": next(self._ids), "method": "Browser.close"})
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log.close()
        self.profile.cleanup()

    def _exit_report(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self._log.flush()
        tail = self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        return f"exit {self.process.poll()}\n" + "\n".join(tail)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            os.write(self._to_child, json.dumps(message).encode() + b"\0")
        except BrokenPipeError as error:
            raise BrowserError(f"Chromium is gone: {self._exit_report()}") from error

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no message from Chromium within {timeout_s:.0f} s")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed the pipe: {self._exit_report()}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        session: bool = True,
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        """Send one DevTools command to the page (or the browser) and return its result."""
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": dict(params or {})}
        if session and self.session:
            message["sessionId"] = self.session
        self._send(message)
        while True:
            reply = self._receive(timeout_s)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def text(self) -> str:
        """The page's visible text."""
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def html(self) -> str:
        return self.evaluate("document.documentElement.outerHTML") or ""

    def wait_for_text(
        self,
        *needles: str,
        absent: Sequence[str] = (),
        timeout_s: float = 60.0,
        settle_s: float = 0.5,
    ) -> str:
        """Wait until every needle is in the page's text and no `absent` one is, still so after
        `settle_s` (pages render in steps); that text."""
        deadline = time.monotonic() + timeout_s
        settled = False
        while True:
            text = self.text()
            missing = [n for n in needles if n not in text]
            present = [a for a in absent if a in text]
            if not missing and not present:
                if settled:
                    return text
                settled = True
                time.sleep(settle_s)
                continue
            settled = False
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"after {timeout_s:.0f} s, missing {missing}, still shown {present}:\n{text}"
                )
            time.sleep(0.5)

    def click_text(self, text: str, selector: str = "button, a, [role=tab], span, div") -> None:
        """Click the innermost element matching `selector` whose own text is exactly `text`."""
        script = f"""(() => {{
            const want = {json.dumps(text)};
            const found = [...document.querySelectorAll({json.dumps(selector)})]
              .filter(e => e.innerText && e.innerText.trim() === want);
            const inner = found.filter(e => !found.some(o => o !== e && e.contains(o)));
            if (!inner.length) return false;
            inner[0].scrollIntoView({{block: 'center'}});
            inner[0].click();
            return true;
        }})()"""
        if not self.evaluate(script):
            raise BrowserError(f"nothing to click with text {text!r}")

    def shortcut(self, code: str, *, alt: bool = False, shift: bool = False) -> None:
        """Press and release one key (`KeyE`, `Escape`, ...) with modifiers, as a user would."""
        modifiers = (1 if alt else 0) | (8 if shift else 0)
        key = code.removeprefix("Key").lower() if code.startswith("Key") else code
        for kind in ("rawKeyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                {"type": kind, "code": code, "key": key, "modifiers": modifiers},
            )

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))


# -- pytest fixtures (shared by test_webserver.py and test_browser.py) --------------------------


@dataclass(frozen=True)
class Built:
    """A server after one successful run of every asset of `cpg_build_all`."""

    server: DagsterDev
    run_id: str
    seconds: float


@pytest.fixture(scope="session")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """One `dagster dev` of the fixture repository for the session."""
    server = DagsterDev.start(tmp_path_factory.mktemp("dagster_dev"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def built(dagster_dev: DagsterDev) -> Built:
    """The session's server after a run of ALL assets of the job (launched over GraphQL)."""
    start = time.monotonic()
    run_id = dagster_dev.launch()
    dagster_dev.wait_for_run(run_id)
    return Built(dagster_dev, run_id, time.monotonic() - start)
