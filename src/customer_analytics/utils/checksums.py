"""SHA-256 digests of files, each file version hashed once per process."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """:func:`sha256_file`, computed once per file version (path, size, modification
    time) in a process: the cache key, the configured-checksum check, the Excel cache and
    the ingest's record of its inputs all ask for it."""
    stat = path.stat()
    return _file_sha256(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_file(path)
