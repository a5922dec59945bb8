import os
import shutil

import pytest

# live_server runs Django in a thread while Playwright's event loop runs in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def pytest_collection_modifyitems(config, items):
    _browser_tests_once(items)
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI needs Chromium at {CHROMIUM} for the browser tests")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    from django.conf import settings

    # Fast hashing for the cast made in setUpTestData; static files straight from the apps (no manifest).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # ingest (issue 9): a public hit is written at once, in the test's transaction, so a test sees the row after
    # its request; the spool and its flusher are tested in core/tests/test_ingest.py with INGEST_SYNC off.
    import tempfile

    settings.INGEST_SYNC = True
    settings.INGEST_DIR = tempfile.mkdtemp(prefix="smk-ingest-")

    from django.db.backends.signals import connection_created

    connection_created.connect(_retry_shared_cache_locks, dispatch_uid="smk-retry-table-locks")


def _retry_shared_cache_locks(sender, connection, **kwargs):
    """SQLite test databases live in memory with a shared cache, which the browser tests' live server threads
    and the test thread use at once. A shared-cache table lock fails a statement at once with "database table is
    locked" (SQLITE_LOCKED: no busy timeout applies, and the statement did nothing), where a file database
    would have waited. Retry such a statement for up to a second, as sqlite3_unlock_notify would; production
    databases are files and never see this."""
    if connection.vendor != "sqlite" or _retry_locked in connection.execute_wrappers:
        return
    connection.execute_wrappers.append(_retry_locked)


def _retry_locked(execute, sql, params, many, context):
    import time

    from django.db import OperationalError

    for attempt in range(100):
        try:
            return execute(sql, params, many, context)
        except OperationalError as error:
            if "table is locked" not in str(error) or attempt == 99:
                raise
            time.sleep(0.01)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters in the cache (API rate limits, login and token lockouts) start empty in every test."""
    from django.core.cache import cache

    cache.clear()
    yield


# axe-core, the accessibility rules the browser tests run (smarketing/core/tests/test_a11y_browser.py), comes
# from its npm package through scripts/fetch_axe.sh into var/axe/ (never a CDN). Without npm or the registry
# the tests that need it skip locally with the reason, and fail in CI.
AXE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "var", "axe")


@pytest.fixture(scope="session")
def axe_source() -> str:
    """Path of axe.min.js, fetched once per machine (the version is pinned in scripts/fetch_axe.sh)."""
    import subprocess

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts", "fetch_axe.sh")
    try:
        subprocess.run([script], check=True, capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        message = f"axe-core could not be fetched from npm ({detail.strip()[:300]}); run scripts/fetch_axe.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return os.path.join(AXE_DIR, "axe.min.js")


def _browser_tests_once(items):
    """Browser tests check pages, not the database: they run on SQLite only, unless marked `pg_browser` too (a journey
    whose database behaviour differs on PostgreSQL). `./dev.sh test` runs the suite on both databases."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="browser test: run on SQLite (mark it pg_browser to run it on PostgreSQL too)")
    for item in items:
        if "browser" in item.keywords and "pg_browser" not in item.keywords:
            item.add_marker(skip)


def _serialized_rollback_starts_clean() -> None:
    """A `serialized_rollback` test reloads the rows the migrations made (content types, permissions, outbox
    cursors, ...) by primary key. If a TransactionTestCase without it ran just before, its flush let post_migrate
    re-create some of those rows under new keys, and the reload then breaks their unique constraints (the
    "content type (auth, permission) already exists" errors that made the suite depend on test order). So such a
    test first empties the database without post_migrate, then reloads: the same start whatever ran before."""
    from django.core.management import call_command
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_setup.__func__

    def _fixture_setup(cls):
        if cls.serialized_rollback:
            for db_name in cls._databases_names(include_mirrors=False):
                call_command("flush", verbosity=0, interactive=False, database=db_name, inhibit_post_migrate=True)
        original(cls)

    TransactionTestCase._fixture_setup = classmethod(_fixture_setup)


_serialized_rollback_starts_clean()
