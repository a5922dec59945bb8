"""Bulk loaders for the generated rows: COPY on PostgreSQL, executemany on SQLite.

Both run the whole load in one transaction, so a failed or interrupted seed leaves the database as it was.

Loading into an (almost) empty table, the secondary indexes and, on PostgreSQL, the foreign keys of the
loaded tables are dropped first and re-created at the end: building an index once from sorted data is several
times faster than updating it row by row in random order (measured: 2M touchpoints load in 16 s instead of
46 s on PostgreSQL; 50k contacts with 1M touchpoints seed in 30 s instead of 46 s on SQLite), and on
PostgreSQL a foreign key re-added is checked with one join instead of one locking lookup per row. The
definitions come from the database catalog, so what is re-created is exactly what the migrations made.
Unique indexes stay (they guard emails and domains while loading), and so do the two touchpoint indexes that
the generator fills in key order (contact, company), which cost almost nothing to maintain. While the indexes
are gone the tables are locked; seeding is for empty or dedicated databases.
"""

import json
import os
import time
from collections.abc import Iterable
from datetime import date, datetime

from django.db import connection

from smarketing.crm.demo.common import COLUMNS as CRM_COLUMNS
from smarketing.crm.demo.common import TABLES as CRM_TABLES
from smarketing.crm.models import Company, Contact, Deal, DealContact, DealStageChange, LifecycleChange, Note, Task
from smarketing.email import demo as email_demo
from smarketing.forms import demo as forms_demo  # issue 9 formsbuilder
from smarketing.forms import demo_tracking as tracking_demo  # issue 9, tracking part
from smarketing.mail import demo as mail_demo
from smarketing.segments import demo as segments_demo
from smarketing.timeline.models import Touchpoint

CRM_MODELS = {
    "company": Company,
    "contact": Contact,
    "deal": Deal,
    "dealcontact": DealContact,
    "lifecycle": LifecycleChange,
    "stagechange": DealStageChange,
    "task": Task,
    "note": Note,
    "touch": Touchpoint,
}
# Every table the seed loads, in load order: key -> (model, generated columns). Each app's demo module declares
# its own (crm/demo/common.py, email/demo.py, mail/demo.py, segments/demo.py).
TABLES: dict[str, tuple] = {
    **{key: (CRM_MODELS[key], CRM_COLUMNS[key]) for key in CRM_TABLES},
    **email_demo.TABLES,
    **mail_demo.TABLES,
    **segments_demo.TABLES,
    **tracking_demo.TABLES,  # issue 9, tracking part
    **forms_demo.TABLES,  # issue 9 formsbuilder
}
COLUMNS = {key: columns for key, (_model, columns) in TABLES.items()}
# Filled in key order by the generator, so keeping them during the load is cheap.
KEEP_INDEXES = {"touch_contact_idx", "touch_company_idx"}


class TableSpec:
    """Where a generated row goes: the table, the generated columns, then constant defaults for the rest."""

    def __init__(self, key: str, tz_suffix: str):
        model, columns = TABLES[key]
        self.key = key
        self.table = model._meta.db_table
        columns = list(columns)
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(columns) - set(by_attname)
        if unknown:
            raise RuntimeError(f"{self.table} has no column(s) {sorted(unknown)}; update the seed generator")
        extra = [f for f in model._meta.concrete_fields if f.attname not in columns]
        self.extra = tuple(_constant_default(f, tz_suffix) for f in extra)
        self.columns = [by_attname[c].column for c in columns] + [f.column for f in extra]


def _constant_default(field, tz_suffix: str):
    value = field.get_default()
    if value is None:
        return None
    if field.get_internal_type() == "JSONField":
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + tz_suffix
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return value if connection.vendor == "postgresql" else int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


class Loader:
    """Writes chunks of rows; `prepare()` before the first chunk, `finish()` after the last."""

    tz_suffix = ""

    def __init__(self, out):
        self.out = out
        self.specs = {key: TableSpec(key, self.tz_suffix) for key in TABLES}
        self.dropped: list[tuple[str, str, str]] = []  # (kind, table, definition) to restore
        self.quote = connection.ops.quote_name

    def next_ids(self) -> dict[str, int]:
        out = {}
        with connection.cursor() as cursor:
            for key, spec in self.specs.items():
                cursor.execute(f"SELECT MAX(id) FROM {self.quote(spec.table)}")  # noqa: S608 - a model's table
                out[key] = (cursor.fetchone()[0] or 0) + 1
        return out

    def write(self, key: str, rows: list) -> None:
        raise NotImplementedError

    def prepare(self, bulk_tables: Iterable[str]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def _timed(self, label: str, sql: str, cursor) -> None:
        started = time.monotonic()
        cursor.execute(sql)
        elapsed = time.monotonic() - started
        if elapsed > 2:
            self.out(f"  {label} ({elapsed:.0f} s)")


class PostgresLoader(Loader):
    tz_suffix = "+00"

    def prepare(self, bulk_tables: Iterable[str]) -> None:
        with connection.cursor() as cursor:
            # Settings for this transaction only: index builds sort in memory, commit need not wait for fsync.
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{_index_memory()}'")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            # Rows written earlier in this transaction leave deferred foreign-key checks pending, and a table
            # with pending checks cannot be altered: run those checks now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for key in bulk_tables:
                table = self.specs[key].table
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"ALTER TABLE {self.quote(table)} DROP CONSTRAINT {self.quote(name)}")
                    self.dropped.append(("fk", table, f"ADD CONSTRAINT {self.quote(name)} {definition}"))
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique ORDER BY i.relname",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    if name in KEEP_INDEXES:
                        continue
                    cursor.execute(f"DROP INDEX {self.quote(name)}")
                    self.dropped.append(("index", table, definition))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def write(self, key: str, rows: list) -> None:
        if not rows:
            return
        spec = self.specs[key]
        columns = ", ".join(self.quote(c) for c in spec.columns)
        extra = spec.extra
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {self.quote(spec.table)} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                if extra:
                    for row in rows:
                        write_row(row + extra)
                else:
                    for row in rows:
                        write_row(row)

    def finish(self) -> None:
        with connection.cursor() as cursor:
            # Indexes first: re-adding a foreign key then checks the rows with a join that can use them.
            for kind, _table, definition in self.dropped:
                if kind == "index":
                    self._timed(f"index {definition.split()[2]}", definition, cursor)
            for kind, table, definition in self.dropped:
                if kind == "fk":
                    name = definition.split()[2]
                    self._timed(f"foreign key {name}", f"ALTER TABLE {self.quote(table)} {definition}", cursor)
            for spec in self.specs.values():
                # Ids were assigned here, not by the sequence: move it past them.
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1)) "  # noqa: S608
                    f"FROM {self.quote(spec.table)}",
                    [spec.table],
                )
            for spec in self.specs.values():
                self._timed(f"analyze {spec.table}", f"ANALYZE {self.quote(spec.table)}", cursor)


def _index_memory() -> str:
    """Sort memory for re-creating indexes: 20M touchpoint keys need ~1.3 GB to sort without spilling to disk.

    Sized from this machine's memory (the seed usually runs beside its database); the setting only lasts for
    the seed's transaction and is only used while an index is built.
    """
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 0
    if ram >= 16 * 2**30:
        return "2GB"
    if ram >= 4 * 2**30:
        return "1GB"
    return "256MB"


class SqliteLoader(Loader):
    def prepare(self, bulk_tables: Iterable[str]) -> None:
        with connection.cursor() as cursor:
            for key in bulk_tables:
                table = self.specs[key].table
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL "
                    "ORDER BY name",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    if name in KEEP_INDEXES or definition.upper().startswith("CREATE UNIQUE"):
                        continue
                    cursor.execute(f"DROP INDEX {self.quote(name)}")
                    self.dropped.append(("index", table, definition))

    def write(self, key: str, rows: list) -> None:
        if not rows:
            return
        spec = self.specs[key]
        columns = ", ".join(self.quote(c) for c in spec.columns)
        marks = ", ".join("?" * len(spec.columns))
        sql = f"INSERT INTO {self.quote(spec.table)} ({columns}) VALUES ({marks})"  # noqa: S608 - model tables
        extra = spec.extra
        # The raw sqlite3 connection: Django's cursor wrapper would rewrite the query and log every batch.
        raw = connection.connection
        raw.executemany(sql, [row + extra for row in rows] if extra else rows)

    def finish(self) -> None:
        with connection.cursor() as cursor:
            for _kind, _table, definition in self.dropped:
                self._timed(f"index {definition.split()[2]}", definition, cursor)
            for spec in self.specs.values():
                cursor.execute(f"ANALYZE {self.quote(spec.table)}")


def make_loader(out) -> Loader:
    if connection.vendor == "postgresql":
        return PostgresLoader(out)
    if connection.vendor == "sqlite":
        return SqliteLoader(out)
    raise RuntimeError(f"seed supports PostgreSQL and SQLite, not {connection.vendor}")
