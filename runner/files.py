"""Writing files so that a reader (or a crash) sees the old file or the whole new one, never half.

The temporary file sits in the target's directory because a rename is atomic only within one
filesystem.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from runner.errors import ZdopsError


def write_atomic(path: Path, data: str | bytes, *, what: str, hint: str, mode: int = 0o644) -> None:
    """Replace `path` with `data`; ZdopsError naming `what` (e.g. "the plan") on failure."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise ZdopsError(
            f"cannot write {what} {path}: {error.strerror or error}.", hint=hint
        ) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise ZdopsError(
                f"cannot write {what} {path}: {error.strerror or error}.", hint=hint
            ) from None
        raise
