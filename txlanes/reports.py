"""Writing reports: atomically, so an interrupted or failed run never leaves a half-written file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from txlanes.executor.result import BlockResult, Receipt
from txlanes.models.context import Event
from txlanes.models.workload import state_to_json, uint_to_json


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def write_json(path: str | Path, obj: Any) -> Path:
    return write_atomic(path, json.dumps(obj, indent=1) + "\n")


def event_to_json(event: Event) -> list[object]:
    return [uint_to_json(f) if isinstance(f, int) and not isinstance(f, bool) else f for f in event]


def receipt_to_json(receipt: Receipt) -> dict[str, Any]:
    return {
        "ok": receipt.ok,
        "reason": receipt.reason,
        "events": [event_to_json(e) for e in receipt.events],
    }


def block_result_to_json(result: BlockResult) -> dict[str, Any]:
    return {
        "receipts": [receipt_to_json(r) for r in result.receipts],
        "writes": state_to_json(result.writes, keep_zero=True),
        "stats": result.stats,
    }
