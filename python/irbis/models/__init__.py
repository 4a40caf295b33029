"""Pretrained models: the catalogue and verified downloads, and converters that make ONNX models by the
project's own means (numpy + onnx, no torch).

The converters need neither the JVM nor the Irbis jar: ``python -m irbis.models.efficientnet_lite`` writes
an ONNX file that the ONNX stages can then load. ``ModelRepository``, ``ModelDownloader`` and
``ModelSchema`` (from :mod:`irbis.models.repository`, imported on first use so that the converters stay
free of pyspark) wrap the JVM catalogue and downloader.
"""

from typing import Any

_REPOSITORY_NAMES = ("ModelDownloadError", "ModelDownloader", "ModelRepository", "ModelSchema")


def __getattr__(name: str) -> Any:
    if name in _REPOSITORY_NAMES:
        from irbis.models import repository
        return getattr(repository, name)
    raise AttributeError(f"module 'irbis.models' has no attribute {name!r}")


__all__ = list(_REPOSITORY_NAMES)
