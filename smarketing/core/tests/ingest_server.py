"""The WSGI application of the ingest crash tests (test_ingest_crash.py): Smarketing's own, served by the same
gunicorn command line and hooks as `smarketing serve`, plus GET /test/ingest?n=N, which accepts one record of a
test stream. Its handler writes to a table of the test's own, with no unique key: a record written twice would
show as two rows."""

from urllib.parse import parse_qs

from django.db import connection

from smarketing.core import ingest
from smarketing.wsgi import application as smarketing_application

TABLE = "ingest_crash_hit"


def write_hits(records: list[dict]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {TABLE} (hit_id, n, pid) VALUES (%s, %s, %s)",
            [(r["hit_id"], r["n"], r["pid"]) for r in records],
        )


ingest.register_stream("crash_test", write_hits)


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/test/ingest":
        return smarketing_application(environ, start_response)
    import os

    n = int(parse_qs(environ.get("QUERY_STRING", ""))["n"][0])
    ingest.accept("crash_test", {"hit_id": f"{n:032d}", "n": n, "pid": os.getpid()})
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]
