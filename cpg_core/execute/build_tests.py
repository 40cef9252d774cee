"""The data tests of one build: evaluated as soon as the tables they read are computed, on the
run's own tester thread; each result reported as a `DataTestFinish` event; and the gates that
stop the readers of a view whose error-severity test did not pass.

Why a thread: a view's tests run while its table is written and while the next view computes
(DataFusion and the Delta writer release the GIL) instead of after the build. The tables are
the canonical tables the run holds in memory — exactly the rows it stores, with their data
versions — so a test costs its query alone, and a result is cached on (test definition, data
versions) like `cpg test`'s: a rebuild that leaves a table unchanged does not test it again.

Why gates: like `dbt build`, a failing error-severity test of a view stops the views
downstream of it (they are not run: `Run.view_blocked` reports them as blocked). A reader of a
tested view waits for that view's gating tests only, never for its write. A test gates when
`gates_readers` says so (error severity, and every view it reads is upstream of the view it
checks — so it never waits for a view that itself waits for the gate).

Thread-safety: `stored`, `not_stored` and `stop` may be called from any task thread; the
session runs on the tester thread only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import msgspec
import pyarrow as pa

from cpg_core.artifacts.contracts import DataTestReport, DataTestResult
from cpg_core.checks.evaluate import Limits
from cpg_core.checks.session import DataTestSession, build_tests
from cpg_core.execute.sources import InputTable
from cpg_core.execute.versions import data_version, replaced_from
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.planned_tests import check_view, gates_readers
from cpg_core.store.events import DataTestFinish, EventPayload


def finish_event(result: DataTestResult, view: str | None) -> DataTestFinish:
    """The event of a decided test (`view`: the view it is a check of)."""
    return DataTestFinish(task=view, **msgspec.structs.asdict(result))


def result_of_event(event: DataTestFinish) -> DataTestResult:
    """The result a `DataTestFinish` event carries."""
    fields = msgspec.structs.asdict(event)
    del fields["task"]
    return DataTestResult(**fields)


class BuildTests:
    """The tests of the views a build stores (`select`: only these test ids; `limits`: what
    each test's query may use, the build's memory share of one task)."""

    def __init__(
        self,
        plan: ExecutionPlan,
        views: Sequence[str],
        root: Path,
        emit: Callable[[EventPayload], object],
        select: Collection[str] | None = None,
        limits: Limits | None = None,
    ) -> None:
        tests = build_tests(plan, views)
        if select is not None:
            wanted = set(select)
            tests = [t for t in tests if t.id in wanted]
        self.plan = plan
        self.views = tuple(views)
        self.tests = tests
        self.root = root
        self.emit = emit
        self.limits = limits
        self.check_of = {t.id: check_view(plan, t) for t in tests}
        built = set(views)
        self.gates: dict[str, list[str]] = {}
        for test in tests:
            view = self.check_of[test.id]
            if view in built and gates_readers(plan, test):
                self.gates.setdefault(view, []).append(test.id)
        self.results: dict[str, DataTestResult] = {}
        self.stopped: str | None = None
        self._reads = {name for t in tests for name in t.reads}
        self._session: DataTestSession | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        self._failure: BaseException | None = None
        self._decided = threading.Condition()

    def start(self, tables: Mapping[str, InputTable]) -> None:
        """Open the session (the result cache is read here, under the store lock) with the
        tables the run holds that it does not build (inputs, views read from the store). A
        lazy source is not read for it: the session opens it, as `cpg test` does, only when
        a test reading it is evaluated."""
        if not self.tests:
            return
        self._session = DataTestSession(
            self.plan, self.views, store=self.root, tests=self.tests, limits=self.limits
        )
        for name, table in tables.items():
            if name in self._reads and name not in self.views and isinstance(table, pa.Table):
                self._session.provide(name, table, data_version(table))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpg-tests")

    def stored(self, name: str, table: pa.Table | None, version: str) -> None:
        """View `name` was computed with these rows (the ones the run stores): test them.
        None: the rows the store holds already (a cache hit), opened only if a test runs.
        A partial run's table says which of its rows are new (`replaced_from`)."""
        if name in self._reads:
            replaced = replaced_from(table) if table is not None else None
            self._submit(lambda session: session.stored(name, table, version, replaced))

    def not_stored(self, name: str, reason: str) -> None:
        """View `name` will not be stored by this build: its tests are errors saying why."""
        if name in self._reads:
            self._submit(lambda session: session.not_stored(name, reason))

    def _submit(self, work: Callable[[DataTestSession], list[DataTestResult]]) -> None:
        if self._pool is None or self._session is None:
            return
        session = self._session
        self._futures.append(self._pool.submit(self._decide, lambda: work(session)))

    def _decide(self, work: Callable[[], list[DataTestResult]]) -> None:
        try:
            results = work()
        except BaseException as error:  # a bug, not a test failure: the build fails with it
            with self._decided:
                self._failure = self._failure or error
                self.stopped = self.stopped or f"the data tests failed: {error}"
                self._decided.notify_all()
            return
        for result in results:  # reported before a reader it blocks is
            self.emit(finish_event(result, self.check_of[result.id]))
        with self._decided:
            self.results.update((r.id, r) for r in results)
            self._decided.notify_all()

    def blocked_by(self, upstream: Iterable[str]) -> tuple[str, ...]:
        """The gating tests of the `upstream` views that did not pass, once all are decided
        (when the build stopped first: the ones not decided either)."""
        ids = [i for view in upstream for i in self.gates.get(view, ())]
        if not ids:
            return ()
        with self._decided:
            self._decided.wait_for(
                lambda: self.stopped is not None or all(i in self.results for i in ids)
            )
            return tuple(
                i for i in ids if i not in self.results or self.results[i].status != "passed"
            )

    def stop(self, reason: str) -> None:
        """The build failed: nothing waits for a test any more."""
        with self._decided:
            self.stopped = self.stopped or reason
            self._decided.notify_all()

    def finish(self) -> DataTestReport | None:
        """Wait for every test; the report (None when the build runs no test). Saves the
        result cache; raises what broke the tester thread, if anything did."""
        if self._session is None:
            return None
        wait(self._futures)
        if self._failure is not None:
            raise self._failure
        report = self._session.finish()
        for result in report.results:  # left undecided (a table nobody stored): errors
            if result.id not in self.results:
                self.results[result.id] = result
                self.emit(finish_event(result, self.check_of[result.id]))
        return report

    def close(self) -> None:
        """Stop the tester thread (waits for the test running now)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
