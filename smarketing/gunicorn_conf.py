"""gunicorn hooks of `smarketing serve` (passed as --config python:smarketing.gunicorn_conf; flags set the rest).

Each worker process has its own ingest spool (core/ingest.py): it starts the flusher as soon as the worker has
loaded the app (which also replays what dead workers left), and delivers what is buffered when the worker exits
(a graceful stop, a restart, the master gone). A killed worker delivers nothing itself: its spool is replayed.
"""


def post_worker_init(worker):
    from smarketing.core import ingest

    ingest.start()


def worker_exit(server, worker):
    from smarketing.core import ingest

    ingest.shutdown()
