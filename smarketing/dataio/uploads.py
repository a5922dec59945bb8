"""Receiving an import upload: streamed straight into the private import directory, stopped at the size limit."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from smarketing.dataio import services
from smarketing.dataio.importer import runner


class StoredUpload:
    """What request.FILES holds for an import upload: where the bytes went, not the bytes."""

    def __init__(self, name: str, stored_name: str, size: int):
        self.name, self.stored_name, self.size = name, stored_name, size


class ImportUploadHandler(FileUploadHandler):
    """Writes the first uploaded file to MEDIA_ROOT/imports/<random>.csv; never keeps it in memory.

    Over SMARKETING_MAX_IMPORT_MB the file is deleted and the upload stopped; the view sees `too_large`.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.too_large = False
        self.stored_name = None
        self.size = 0
        self._fh = None

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        if self._fh is None and self.stored_name is None:
            self.stored_name = services.new_file_name()
            path = runner.upload_dir() / self.stored_name
            self._fh = open(path, "xb")  # noqa: SIM115 - closed in file_complete or on abort
            path.chmod(0o600)

    def receive_data_chunk(self, raw_data, start):
        if self._fh is None:
            return None  # a second file in the same form is ignored
        self.size += len(raw_data)
        if self.size > services.max_bytes():
            self.too_large = True
            self._abort()
            # The client sent more than Content-Length promised (checked first in the view): stop reading.
            raise StopUpload(connection_reset=True)
        self._fh.write(raw_data)
        return None

    def file_complete(self, file_size):
        if self._fh is None:
            return None
        self._fh.close()
        self._fh = None
        return StoredUpload(self.file_name or "upload.csv", self.stored_name, self.size)

    def upload_interrupted(self):
        self._abort()

    def _abort(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.stored_name:
            (runner.upload_dir() / self.stored_name).unlink(missing_ok=True)
            self.stored_name = None
