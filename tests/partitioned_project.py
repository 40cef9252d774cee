"""A user project with partition-incremental views over a partitioned Parquet source.

`events/` holds one Parquet file per day (the partition column `day`; a file of rows whose day
is null is the null partition), `users.parquet` is a lookup. The views:

- `daily` (@incremental by day): events joined to users, aggregated per day and segment;
- `ranked` (@incremental by day, driven by `daily`): a window per day — incremental over an
  incremental view;
- `per_event` (@incremental by day): a row per event with a correlated per-day subquery;
- `overall` (not incremental): a global aggregate over `daily`.

`Edits` applies the kinds of change the tests draw (a day added, changed, deleted; the null
partition; the lookup; a view's SQL) and `build` runs the real pipeline, returning what each
view reported.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cpg_core.pipeline import ProjectRun, build_project
from cpg_core.project import load_project
from cpg_core.settings import SERIAL, ExecutorConfig
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import TaskFinish
from cpg_core.store.partitions import table_version

SEGMENTS = ("gold", "silver", "bronze")
VIEWS: dict[str, str] = {
    "daily": (
        "-- @incremental: partition_by = day\n"
        "select e.day, u.segment, count(*) as n, sum(e.amount) as total\n"
        "from events e join users u on u.user_id = e.user_id\n"
        "group by e.day, u.segment\n"
    ),
    "ranked": (
        "-- @incremental: partition_by = day\n"
        "select day, segment, total,\n"
        "  rank() over (partition by day order by total desc, segment) as place\n"
        "from daily\n"
    ),
    "per_event": (
        "-- @incremental: partition_by = day\n"
        "select e.day, e.event_id, e.amount,\n"
        "  (select max(e2.amount) from events e2 where e2.day = e.day) as day_max\n"
        "from events e\n"
    ),
    "overall": "select segment, sum(total) as total, count(*) as days from daily group by segment\n",
}
EDITED_DAILY = VIEWS["daily"].replace("sum(e.amount) as total", "sum(e.amount) * 2 as total")


def events_table(day: str | None, rows: int, salt: int) -> pa.Table:
    """A day's events (deterministic from `salt`)."""
    return pa.table(
        {
            "day": pa.array([day] * rows, pa.string()),
            "event_id": pa.array([salt * 1000 + i for i in range(rows)], pa.int64()),
            "user_id": pa.array([(salt + i) % 5 for i in range(rows)], pa.int64()),
            "amount": pa.array([float((salt * 7 + i * 3) % 11) for i in range(rows)], pa.float64()),
        }
    )


@dataclass
class PartitionedProject:
    """The project on disk (`root`), and the edits a test applies to it."""

    root: Path

    @property
    def events(self) -> Path:
        return self.root / "data" / "events"

    def write(self, days: int = 4, views: Mapping[str, str] = VIEWS) -> PartitionedProject:
        self.events.mkdir(parents=True, exist_ok=True)
        (self.root / "views").mkdir(exist_ok=True)
        for day in range(days):
            self.set_day(f"d{day:02d}", 3 + day, salt=day)
        self.set_users(0)
        for name, sql in views.items():
            self.set_view(name, sql)
        (self.root / "cpg.toml").write_text(
            'views = ["views"]\ninclude_cpg = false\n'
            '[sources.events]\npath = "data/events"\nformat = "parquet"\n'
            '[sources.users]\npath = "data/users.parquet"\n',
            encoding="utf-8",
        )
        return self

    def set_day(self, day: str | None, rows: int, salt: int) -> None:
        name = "null" if day is None else day
        pq.write_table(events_table(day, rows, salt), self.events / f"{name}.parquet")

    def delete_day(self, day: str | None) -> None:
        (self.events / f"{'null' if day is None else day}.parquet").unlink(missing_ok=True)

    def days(self) -> list[str]:
        return sorted(p.stem for p in self.events.glob("*.parquet"))

    def set_users(self, shift: int) -> None:
        segments = [SEGMENTS[(i + shift) % len(SEGMENTS)] for i in range(5)]
        table = pa.table({"user_id": pa.array(range(5), pa.int64()), "segment": segments})
        pq.write_table(table, self.root / "data" / "users.parquet")

    def set_view(self, name: str, sql: str) -> None:
        (self.root / "views" / f"{name}.sql").write_text(sql, encoding="utf-8")

    def build(self, store: Path, config: ExecutorConfig = SERIAL) -> Built:
        events: list[object] = []
        run = build_project(
            load_project(self.root / "cpg.toml"), store=store, config=config, on_event=events.append
        )
        finished = {e.task: e for e in events if isinstance(e, TaskFinish)}
        return Built(run, finished, DeltaStore(store))

    def cold(self, store: Path) -> Built:
        """A build into an empty `store`."""
        shutil.rmtree(store, ignore_errors=True)
        return self.build(store)


@dataclass
class Built:
    run: ProjectRun
    finished: dict[str, TaskFinish]
    store: DeltaStore

    def recomputed(self) -> dict[str, int | None]:
        return {name: event.partitions_recomputed for name, event in self.finished.items()}

    def versions(self) -> dict[str, str | None]:
        """Each stored table's recorded data version."""
        return {
            name: info.data_version
            for name in self.store.names()
            if (info := self.store.info(name)) is not None
        }

    def content_versions(self) -> dict[str, str]:
        """Each stored table's data version recomputed from its rows (as the store defines it)."""
        out = {}
        for name in self.store.names():
            info = self.store.info(name)
            assert info is not None
            out[name] = table_version(self.store.read(name), info.partition_by)
        return out


def assert_same_store(built: Built, cold: Built) -> None:
    """Table by table, the incremental store equals a cold build: recorded data versions, and
    the versions recomputed from the rows read back."""
    assert built.versions() == cold.versions()
    assert built.content_versions() == cold.content_versions() == cold.versions()
