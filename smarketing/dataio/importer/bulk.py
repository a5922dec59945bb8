"""Chunked writes for the importer: COPY on PostgreSQL, executemany on SQLite.

The importer writes a thousand records per transaction. One INSERT per record (what the services do) caps an
import at a few hundred rows a second; these helpers write the same rows in a handful of statements. Ids are
allocated first (from the table's sequence) so history rows, touchpoints and events can point at new records
inside the same chunk.
"""

import json
from collections.abc import Iterable, Sequence

from django.db import connection, models


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class Table:
    """Insert and update rows of one model's table given plain tuples of attribute values."""

    def __init__(self, model: type[models.Model], attnames: Sequence[str]):
        self.model = model
        self.table = model._meta.db_table
        fields = {f.attname: f for f in model._meta.concrete_fields}
        self.fields = [fields[name] for name in attnames]
        self.attnames = list(attnames)
        self.columns = [f.column for f in self.fields]
        self.json_positions = [i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)]

    def _quoted(self, names: Iterable[str]) -> str:
        return ", ".join(connection.ops.quote_name(n) for n in names)

    def allocate_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        with connection.cursor() as cursor:
            if is_postgres():
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self.table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so nobody can take these ids
            # before we insert them. sqlite_sequence remembers ids of deleted rows, which are never reused.
            cursor.execute(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                f"COALESCE((SELECT MAX(id) FROM {connection.ops.quote_name(self.table)}), 0))",
                [self.table],
            )
            start = cursor.fetchone()[0]
            return list(range(start + 1, start + count + 1))

    def _prepare_sqlite(self, rows: Iterable[Sequence]) -> list[list]:
        prep = [f.get_db_prep_save for f in self.fields]
        return [
            [p(value, connection) if value is not None else None for p, value in zip(prep, row, strict=True)]
            for row in rows
        ]

    def insert(self, rows: list[Sequence]) -> None:
        if not rows:
            return
        if is_postgres():
            json_positions = self.json_positions
            sql = f"COPY {connection.ops.quote_name(self.table)} ({self._quoted(self.columns)}) FROM STDIN"
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(sql) as copy:
                    for row in rows:
                        if json_positions:
                            row = list(row)
                            for i in json_positions:
                                value = row[i]
                                row[i] = "{}" if value == {} else json.dumps(value)
                        copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(self.columns))
        sql = (
            f"INSERT INTO {connection.ops.quote_name(self.table)} ({self._quoted(self.columns)}) "
            f"VALUES ({placeholders})"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, self._prepare_sqlite(rows))

    def update(self, rows: list[Sequence], *, bump_version: bool = True) -> None:
        """UPDATE each row by id: `rows` hold the values of the table's attnames followed by the id."""
        if not rows:
            return
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in self.columns)
        if bump_version:
            assignments += ", version = version + 1"
        sql = f"UPDATE {connection.ops.quote_name(self.table)} SET {assignments} WHERE id = %s"
        if is_postgres():
            params = []
            for row in rows:
                row = list(row)
                for i in self.json_positions:
                    row[i] = json.dumps(row[i])
                params.append(row)
        else:
            params = [
                values + [row[-1]] for values, row in zip(self._prepare_sqlite(r[:-1] for r in rows), rows, strict=True)
            ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def fetch(model: type[models.Model], attnames: Sequence[str], where: dict[str, Iterable], *, lock: bool) -> list[dict]:
    """Rows of `model` whose column is in any of the given value sets, as dicts of `attnames`; FOR UPDATE if `lock`.

    PostgreSQL gets each value set as one JSON array parameter: a thousand-value IN list (or a Python-adapted
    array) costs more to build, send and parse than the index lookups themselves.
    """
    where = {name: list(values) for name, values in where.items() if values}
    if not where:
        return []
    if not is_postgres():
        query = models.Q()
        for name, values in where.items():
            query |= models.Q(**{f"{name}__in": values})
        qs = model.objects.filter(query).order_by("id")
        return list((qs.select_for_update() if lock else qs).values(*attnames))
    fields = {f.attname: f for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(fields[name].column) for name in attnames)
    condition = " OR ".join(
        f"{quote(fields[name].column)} = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))" for name in where
    )
    sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {condition} ORDER BY id"
    if lock:
        sql += " FOR UPDATE"
    json_names = [name for name in attnames if isinstance(fields[name], models.JSONField)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(values) for values in where.values()])
        rows = [dict(zip(attnames, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for name in json_names:
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    return rows
