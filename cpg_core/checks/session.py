"""The data tests of one build, evaluated as soon as the tables they read are stored.

A build creates one `DataTestSession` for the views it stores, tells it each stored table
(`stored`), and collects the results it returns; `finish` gives the `DataTestReport`. A test is
ready once every view of this build it reads is stored; the tables it reads that this build
does not store (views read from the store, external sources) are read from the store or their
files. Tables handed over are used as they are (no re-read), so a test costs its query alone,
and held only until every test reading them is decided (a build's tables are not all kept).
Results are cached like `cpg test`'s (the same cache, the same keys): a rebuild that leaves a
table unchanged does not test it again.

Not thread-safe: call it from one thread (the one that receives the build's events).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import pyarrow as pa

from cpg_core.artifacts.contracts import DataTestReport, DataTestResult
from cpg_core.checks.batch import evaluate_all
from cpg_core.checks.cache import ResultCache
from cpg_core.checks.evaluate import Limits, error_result, evaluate
from cpg_core.checks.outcome import EvaluationError
from cpg_core.checks.run import report_of
from cpg_core.checks.tables import StoredTables, TableInput
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.planned_tests import PlannedTest, planned_tests
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.partitions import Replaced


def build_tests(plan: ExecutionPlan, built: Collection[str]) -> list[PlannedTest]:
    """The tests a build of the views `built` runs: those of the built views, and the singular
    tests that read one of them (in plan order)."""
    wanted = set(built)
    return [
        t
        for t in planned_tests(plan)
        if (t.view in wanted) or (t.view is None and wanted & set(t.reads))
    ]


class DataTestSession:
    """Evaluates a build's tests as their tables are stored (see the module docstring)."""

    def __init__(
        self,
        plan: ExecutionPlan,
        built: Collection[str],
        *,
        store: Path | None = None,
        tests: Sequence[PlannedTest] | None = None,
        limits: Limits | None = None,
        use_cache: bool = True,
    ) -> None:
        root = store if store is not None else plan.project.store
        self.plan = plan
        self.built = frozenset(built)
        self.tests = list(tests) if tests is not None else build_tests(plan, self.built)
        self.limits = limits or Limits()
        self.cache = ResultCache(root if use_cache else None)
        self.stored_tables = StoredTables(DeltaStore(root), plan.project.sources)
        self.tables: dict[str, TableInput] = {}  # held while an undecided test reads them
        self.seen: set[str] = set()  # built views stored so far
        self.versions: dict[str, str] = {}
        self.replaced: dict[str, Replaced] = {}  # tables a partial run made, as it made them
        self.results: dict[str, DataTestResult] = {}

    def stored(
        self,
        name: str,
        table: pa.Table | None,
        data_version: str,
        replaced: Replaced | None = None,
    ) -> list[DataTestResult]:
        """View `name` was stored with these rows (None: the store's latest version holds
        them, opened only if a test has to run): the results of the tests now ready.
        `replaced`: a partial run made the rows from an earlier version (`Replaced`)."""
        if table is not None:
            self.tables[name] = table
        if replaced is not None:
            self.replaced[name] = replaced
        self.seen.add(name)
        self.versions[name] = data_version
        ready = [
            t
            for t in self.tests
            if t.id not in self.results
            and name in t.reads
            and all(r in self.seen or r not in self.built for r in t.reads)
        ]
        found = self._evaluate(ready)
        self._release()
        return found

    def provide(self, name: str, table: pa.Table, data_version: str) -> None:
        """A table the build holds but does not store (an input, a view read from the
        store): tests read it from memory instead of the store."""
        self.tables[name] = table
        self.versions[name] = data_version

    def not_stored(self, name: str, reason: str) -> list[DataTestResult]:
        """View `name` will not be stored by this build (`reason`): the tests reading it are
        errors saying why (never left waiting, never passed)."""
        waiting = [t for t in self.tests if t.id not in self.results and name in t.reads]
        found = [error_result(t, f"not evaluated: {reason}") for t in waiting]
        self.results.update((r.id, r) for r in found)
        self._release()
        return found

    def _release(self) -> None:
        """Let go of the tables no undecided test reads (a build's outputs would otherwise
        all stay in memory until the build ends)."""
        wanted = {r for t in self.tests if t.id not in self.results for r in t.reads}
        for name in [n for n in self.tables if n not in wanted]:
            del self.tables[name]

    def _evaluate(self, tests: Sequence[PlannedTest]) -> list[DataTestResult]:
        found: dict[str, DataTestResult] = {}
        pending: list[PlannedTest] = []
        versions: dict[str, dict[str, str]] = {}
        for test in tests:
            if test.blocked is not None:
                found[test.id] = evaluate(test, {})
                continue
            try:
                versions[test.id] = {n: v for n in test.reads if (v := self._version(n))}
                cached = self.cache.get(test, versions[test.id])
                if cached is None:  # only a test that runs opens its tables
                    for name in test.reads:
                        if name not in self.tables:
                            self.tables[name] = self.stored_tables.open(name)
            except EvaluationError as error:
                found[test.id] = error_result(test, f"not evaluated: {error}", error.details)
                continue
            if cached is not None:
                found[test.id] = cached
            else:
                pending.append(test)
        evaluated = evaluate_all(
            pending,
            self.tables,
            versions=versions,
            limits=self.limits,
            replaced=self._passed_before(pending),
        )
        for test, result in zip(pending, evaluated, strict=True):
            self.cache.put(test, versions[test.id], result)
            found[test.id] = result
        self.results.update(found)
        return [found[t.id] for t in tests]

    def _passed_before(self, tests: Sequence[PlannedTest]) -> dict[str, Replaced]:
        """The `unique` tests whose table a partial run made from a version they passed on
        (their cached result says so): only the new rows need checking (`in_arrow`)."""
        found: dict[str, Replaced] = {}
        for test in tests:
            replaced = self.replaced.get(test.reads[0]) if len(test.reads) == 1 else None
            if test.kind != "unique" or replaced is None:
                continue
            before = self.cache.get(test, {test.reads[0]: replaced.base})
            if before is not None and before.status == "passed":
                found[test.id] = replaced
        return found

    def _version(self, name: str) -> str | None:
        if name in self.versions:
            return self.versions[name]
        return self.stored_tables.version(name)

    def finish(self) -> DataTestReport:
        """The report of every test (in plan order); a test whose views this build did not
        store (a failed build) is an error. Saves the result cache."""
        for test in self.tests:
            if test.id not in self.results:
                missing = sorted(r for r in test.reads if r in self.built and r not in self.seen)
                message = "not evaluated: not stored by this build: " + ", ".join(missing)
                self.results[test.id] = error_result(test, message)
        self.cache.save()
        return report_of(self.plan.signature, [self.results[t.id] for t in self.tests])
