"""pyiceberg's PyArrow FileIO, verifying the object store's TLS certificate with a CA of the settings.

pyiceberg builds its ``pyarrow.fs.S3FileSystem`` without ``tls_ca_file_path``, so an https object store signed
by the stack's own CA (secure mode) fails verification. This FileIO rebuilds that filesystem with the same
options plus the CA file of the ``lakehouse.s3.ca-file`` property (``lh.iceberg()`` sets it).
"""

from __future__ import annotations

from typing import Any

from pyiceberg.io.pyarrow import PyArrowFileIO

__all__ = ["CA_FILE_PROPERTY", "TrustingPyArrowFileIO"]

CA_FILE_PROPERTY = "lakehouse.s3.ca-file"


class TrustingPyArrowFileIO(PyArrowFileIO):
    """:class:`PyArrowFileIO` whose S3 filesystem trusts ``lakehouse.s3.ca-file``."""

    def _initialize_s3_fs(self, netloc: str | None) -> Any:
        fs = super()._initialize_s3_fs(netloc)
        ca = self.properties.get(CA_FILE_PROPERTY)
        if not ca:
            return fs
        rebuild, (options,) = fs.__reduce__()
        return rebuild({**options, "tls_ca_file_path": str(ca)})
