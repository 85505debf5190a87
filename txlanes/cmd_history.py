"""``txlanes history`` — is a recorded history serializable? (docs/history-format.md)"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from txlanes.checker.history import load_history
from txlanes.checker.serializability import find_anomaly

from .errors import EXIT_FAILED, EXIT_OK


def add_parser(commands: Any) -> None:
    hist = commands.add_parser(
        "history", help="check that a recorded history is serializable (docs/history-format.md)"
    )
    hist.add_argument("history", type=Path, help="a history JSON file")
    hist.set_defaults(handler=cmd_history)


def cmd_history(args: argparse.Namespace, console: Console) -> int:
    history = load_history(args.history)
    anomaly = find_anomaly(history)
    if anomaly is None:
        print(f"serializable: {len(history.txs)} transactions, no dependency cycle")
        return EXIT_OK
    print(anomaly.explain())
    return EXIT_FAILED
