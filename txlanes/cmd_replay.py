"""``txlanes replay`` — re-run a failure ``txlanes check`` saved: FIXED or FAILED."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from txlanes.checker.replay import load_failure, replay
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.registry import TargetError
from txlanes.render import failure_text

from .errors import EXIT_FAILED, EXIT_OK, UsageError


def add_parser(commands: Any) -> None:
    rep = commands.add_parser("replay", help="re-run a saved failure: FIXED or FAILED")
    rep.add_argument("failure", type=Path, help="a failure file written by txlanes check")
    rep.set_defaults(handler=cmd_replay)


def cmd_replay(args: argparse.Namespace, console: Console) -> int:
    failure = load_failure(args.failure)
    # the reports folder the failure was saved in (REPORTS/failures/NAME.json), or its own
    folder = args.failure.parent
    reports = folder.parent if folder.name == "failures" else folder
    try:
        replayed = replay(failure, reports=reports)
    except (TargetError, ExternalEngineError) as err:
        raise UsageError(str(err)) from None
    if replayed.failure is not None:
        print(failure_text(replayed.failure))
        return EXIT_FAILED
    if replayed.deterministic:
        print(f"FIXED: {failure.target} now passes {args.failure}")
    else:
        print(
            f"NOT REPRODUCED: {failure.target} passed {args.failure} in all {replayed.runs} "
            "runs; it is not deterministic, so the race may still be there (no FIXED claimed)"
        )
    return EXIT_OK
