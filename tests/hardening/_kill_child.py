"""Child side of the kill harness: run the real `cpg` CLI and SIGKILL it at a chosen point.

A kill point names a *target* (a Python function, or a C call such as `os.replace` or the Rust
Delta write), which of its calls (`k`, 1-based) and when: at `entry`, at `exit` (after it
returned), or `delay_ms` after its entry (a killer thread sends the signal, so it lands while
the calling thread is inside Rust or C code with the GIL released). The target `time` kills
`delay_ms` after the CLI started; targets `fs:<event>` are killed from outside, by
`tests.hardening._kill_watch`. Hooks are `sys.setprofile` / `threading.setprofile` callbacks that match
code objects (Python targets) or the called C function (C targets); nothing in cpg is patched.

Without a kill point the child can *count*: every target's entries and exits, written as JSON
with the build's duration, so the harness can enumerate the kill points a build really reaches.

Run from the harness in a process forked from a `forkserver` that imported everything (no
thread exists at fork time, nothing ran yet), or as a fresh interpreter::

    python -m tests.hardening._kill_child '<ChildJob as JSON>'
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import Any, Final, Literal

# Imported before any fork, so children start with everything loaded (the forkserver preloads
# this module); none of these imports starts a thread.
import deltalake.writer.writer as delta_writer
import hamilton.caching.stores.sqlite as hamilton_sqlite

import cpg_core.cli as cpg_cli
import cpg_core.execute.build
import cpg_core.execute.codegen as codegen
import cpg_core.execute.run as run_module
import cpg_core.execute.runtime as runtime
import cpg_core.extract.extract_state as extract_state
import cpg_core.extract.file as extract_file_module
import cpg_core.extract.hamilton_exec
import cpg_core.extract.hamilton_flow as hamilton_flow
import cpg_core.extract.incremental as incremental
import cpg_core.pipeline
import cpg_core.plan.compile_cache as compile_cache
import cpg_core.plan.compiler
import cpg_core.store.atomic as atomic
import cpg_core.store.delta_store as delta_store
import cpg_core.store.events as events
import cpg_core.store.history as history
import cpg_core.store.runs as runs

# Loaded for the forkserver's preload only (children must not import anything themselves).
PRELOADED: Final = (cpg_core.execute.build, cpg_core.extract.hamilton_exec, cpg_core.pipeline)
PRELOADED_PLAN: Final = cpg_core.plan.compiler

When = Literal["entry", "exit", "delay"]
TIME_TARGET: Final = "time"
FS_PREFIX: Final = "fs:"  # file-system events inside a Delta write: `tests.hardening._kill_watch`


@dataclass(frozen=True)
class KillSpec:
    """Kill at the `k`-th call of `target`: at entry, at exit, or `delay_ms` after entry."""

    target: str
    k: int = 1
    when: When = "entry"
    delay_ms: float = 0.0

    @property
    def label(self) -> str:
        if self.target == TIME_TARGET:
            return f"time+{self.delay_ms:g}ms"
        if self.target.startswith(FS_PREFIX):
            return f"{self.target}#{self.k}"
        suffix = f"+{self.delay_ms:g}ms" if self.when == "delay" else f"@{self.when}"
        return f"{self.target}#{self.k}{suffix}"


@dataclass(frozen=True)
class ChildJob:
    """One `cpg` invocation: argv after `cpg`, working directory, log file, kill point.

    `report_out` receives the exit code and duration as JSON, and with `count` the number of
    entries and exits of every target (the profile hooks then run for the whole build).
    """

    argv: tuple[str, ...]
    cwd: str
    log: str
    kill: KillSpec | None = None
    report_out: str | None = None
    count: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ChildJob:
        raw = json.loads(text)
        kill = KillSpec(**raw["kill"]) if raw.get("kill") else None
        return cls(
            argv=tuple(raw["argv"]),
            cwd=raw["cwd"],
            log=raw["log"],
            kill=kill,
            report_out=raw.get("report_out"),
            count=bool(raw.get("count")),
        )


@dataclass(frozen=True)
class PyTarget:
    """A Python function, matched by its code object."""

    code: CodeType


@dataclass(frozen=True)
class CTarget:
    """A C function: by identity (`function`), or by name when called from `callers`."""

    function: Callable[..., Any] | None = None
    callers: frozenset[CodeType] = frozenset()
    names: frozenset[str] = field(default_factory=frozenset)


Target = PyTarget | CTarget


def _code(function: Callable[..., Any]) -> CodeType:
    code = getattr(inspect.unwrap(function), "__code__", None)
    assert isinstance(code, CodeType), function
    return code


def _py(function: Callable[..., Any]) -> PyTarget:
    return PyTarget(_code(function))


# What the harness can kill in, by phase. Every name is a real call of `cpg build`.
TARGETS: Final[dict[str, Target]] = {
    # compile
    "compile_cache_save": _py(compile_cache.CompileCache.save),
    # extraction
    "extract_file": _py(extract_file_module.extract_file),
    "extract_unit": _py(hamilton_flow.unit_evidence),
    "extract_combine": _py(incremental._combine),
    "extract_save_state": _py(extract_state.save_state),
    "extract_write_table": _py(extract_state._write_table),
    "extract_write_manifest": _py(extract_state._write_atomic),
    "extract_cleanup": _py(extract_state._remove_unreferenced),
    # views and the store
    "codegen_module": _py(codegen.generate),
    "run_view_task": _py(runtime.run_view_task),
    "hamilton_cache_set": _py(hamilton_sqlite.SQLiteMetadataStore.set),
    "view_finished": _py(run_module.Run.view_finished),
    "store_write": _py(delta_store.DeltaStore.write),
    "write_deltalake": _py(delta_writer.write_deltalake),
    "delta_rust_write": CTarget(
        callers=frozenset({_code(delta_writer.write_deltalake)}),
        names=frozenset({"write_to_deltalake", "write"}),
    ),
    # end of the run (`atomic_write`: run state, durations history and compile cache files)
    "commit_run": _py(runs.commit_run),
    "atomic_write": _py(atomic.atomic_write),
    "record_durations": _py(history.record_durations),
    "events_flush": _py(events.EventLog.flush),
    # every atomic rename and every fsync (caches, state, generated module)
    "os_replace": CTarget(function=os.replace),
    "os_fsync": CTarget(function=os.fsync),
}


class _Killer:
    """A thread that sends SIGKILL to this process at a deadline (armed from a hook)."""

    def __init__(self) -> None:
        self._armed = threading.Event()
        self._deadline = 0.0
        self._thread = threading.Thread(target=self._run, name="kill-harness", daemon=True)
        self._thread.start()

    def arm(self, delay_s: float) -> None:
        self._deadline = time.monotonic() + delay_s
        self._armed.set()

    def _run(self) -> None:
        self._armed.wait()
        remaining = self._deadline - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        os.kill(os.getpid(), signal.SIGKILL)


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Hooks:
    """Profile hooks: count target calls (trace) and/or kill at the chosen one."""

    def __init__(self, kill: KillSpec | None, *, trace: bool) -> None:
        self.kill = kill
        self.trace = trace
        self.entries: dict[str, int] = dict.fromkeys(TARGETS, 0)
        self.exits: dict[str, int] = dict.fromkeys(TARGETS, 0)
        self.first_entry_s: dict[str, float] = {}
        self.started = time.monotonic()
        self._killer = _Killer() if kill is not None and kill.when == "delay" else None
        chosen = {kill.target} if kill is not None and not trace else set(TARGETS)
        self._py: dict[CodeType, str] = {}
        self._c_by_id: dict[int, str] = {}
        self._c_callers: dict[CodeType, tuple[str, frozenset[str]]] = {}
        for name, target in TARGETS.items():
            if name not in chosen:
                continue
            if isinstance(target, PyTarget):
                self._py[target.code] = name
            elif target.function is not None:
                self._c_by_id[id(target.function)] = name
            else:
                for caller in target.callers:
                    self._c_callers[caller] = (name, target.names)

    @property
    def needed(self) -> bool:
        return self.trace or (self.kill is not None and self.kill.target in TARGETS)

    def install(self) -> None:
        if self.kill is not None and self.kill.target == TIME_TARGET and self._killer is not None:
            self._killer.arm(self.kill.delay_ms / 1000)
        if self.needed:
            threading.setprofile(self._hook)
            sys.setprofile(self._hook)

    def uninstall(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]

    def _hook(self, frame: FrameType, event: str, arg: object) -> None:
        if event == "call" or event == "return":
            name = self._py.get(frame.f_code)
            if name is not None:
                self._hit(name, event == "call")
        elif event == "c_call" or event == "c_return" or event == "c_exception":
            name = self._c_by_id.get(id(arg))
            if name is None:
                caller = self._c_callers.get(frame.f_code)
                if caller is None or getattr(arg, "__name__", None) not in caller[1]:
                    return
                name = caller[0]
            self._hit(name, event == "c_call")

    def _hit(self, name: str, entry: bool) -> None:
        counts = self.entries if entry else self.exits
        counts[name] += 1
        if entry and name not in self.first_entry_s:
            self.first_entry_s[name] = time.monotonic() - self.started
        kill = self.kill
        if kill is None or kill.target != name or counts[name] != kill.k:
            return
        if kill.when == "delay" and entry and self._killer is not None:
            self._killer.arm(kill.delay_ms / 1000)
        elif (kill.when == "entry") == entry and kill.when != "delay":
            kill_now()

    def report(self, exit_code: int) -> dict[str, Any]:
        return {
            "exit_code": exit_code,
            "seconds": time.monotonic() - self.started,
            "entries": self.entries,
            "exits": self.exits,
            "first_entry_s": self.first_entry_s,
        }


def os_threads() -> int:
    """Threads of this process (the kernel's view: Rust and C threads included)."""
    return sum(1 for _ in Path("/proc/self/task").iterdir())


def run_job(job: ChildJob) -> None:
    """Run `cpg <argv>` in this process with the job's hooks; exits with the CLI's code."""
    os.chdir(job.cwd)
    log = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    print(f"kill-child pid {os.getpid()} threads at start {os_threads()}", file=sys.stderr)
    sys.stderr.flush()
    hooks = Hooks(job.kill, trace=job.count)
    code = 0
    hooks.install()
    try:
        cpg_cli.main(args=list(job.argv), prog_name="cpg", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        hooks.uninstall()
    if job.report_out is not None:
        Path(job.report_out).write_text(json.dumps(hooks.report(code)), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


if __name__ == "__main__":
    run_job(ChildJob.from_json(sys.argv[1]))
