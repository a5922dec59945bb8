"""Storing uploaded asset files: streamed to the content storage under a random name, size-limited, and typed by
sniffing the bytes (never the extension or the browser's Content-Type); hostile types refused.

Interface (used by services.add_version and the upload views):

    store_upload(fileobj, original_name) -> StoredFile   raises UploadRefused with a message for people
    open_file(name) -> file object                       from the content storage
    delete_file(name)

Implemented by the files helper (see tests/test_files.py).
"""

import dataclasses


class UploadRefused(ValueError):
    """The upload was refused; str(exc) says why, for the person who uploaded it."""


@dataclasses.dataclass(frozen=True)
class StoredFile:
    name: str  # the storage name ("files/<hex>"), random
    original_name: str  # sanitized
    mime_type: str  # sniffed
    size: int
    sha256: str
    page_count: int | None = None  # PDFs
