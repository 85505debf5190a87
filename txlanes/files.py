"""Writing reports: atomically, so an interrupted or failed run never leaves a half-written file."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import UsageError


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place. A path that
    cannot be written (a full disk, a directory in the way) is a UsageError naming it."""
    target = Path(path)
    # the name cut short: a temporary name longer than the file system takes fails alone
    tmp = target.with_name(f".{target.name[:100]}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):  # e.g. no directory to hold it either
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise UsageError(f"cannot write {target}: {err.strerror or err}") from None
        raise
    return target


def write_json(path: str | Path, obj: Any) -> Path:
    return write_atomic(path, json.dumps(obj, indent=1) + "\n")
