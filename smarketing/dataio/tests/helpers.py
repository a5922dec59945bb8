"""Test helpers: a private media directory and a one-call import of CSV bytes through the real pipeline."""

import shutil
import tempfile

from django.test import override_settings

from smarketing.dataio import services
from smarketing.dataio.importer import runner


class TempMediaMixin:
    """Uploads and exports go to temporary directories: one per class (a safety net) and one per test."""

    @classmethod
    def setUpClass(cls):
        cls._class_media = tempfile.mkdtemp(prefix="smk-dataio-test-")
        cls._class_override = override_settings(MEDIA_ROOT=cls._class_media)
        cls._class_override.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._class_override.disable()
        shutil.rmtree(cls._class_media, ignore_errors=True)

    def setUp(self):
        media = tempfile.mkdtemp(prefix="smk-dataio-test-")
        override = override_settings(MEDIA_ROOT=media)
        override.enable()
        self.addCleanup(shutil.rmtree, media, ignore_errors=True)
        self.addCleanup(override.disable)
        super().setUp()


def store(content: bytes) -> tuple[str, int]:
    return services.store_chunks([content])


def prepare(content: bytes, actor, object_type: str = "contact", **kwargs):
    name, size = store(content)
    return services.create_import(
        file_name=name, size=size, original_name="test.csv", object_type=object_type, actor=actor, **kwargs
    )


def run_csv(
    content,
    actor,
    object_type: str = "contact",
    *,
    mapping: dict | None = None,
    date_order="auto",
    send_events=True,
    **kwargs,
):
    """Upload, map (automatically, with `mapping` {header: target} overrides), run; returns the finished Import."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    imp = prepare(content, actor, object_type, **kwargs)
    columns = list(imp.mapping)
    for header, target in (mapping or {}).items():
        columns[imp.header.index(header)] = target
    services.set_mapping(imp, columns, date_order)
    imp.send_events = send_events
    imp.save(update_fields=["send_events"])
    runner.start(imp, actor)
    return runner.run(imp.pk)


def totals(imp) -> tuple[int, int, int, int]:
    return imp.created, imp.updated, imp.unchanged, imp.rejected
