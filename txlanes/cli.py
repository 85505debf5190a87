"""The ``txlanes`` command line. Exit codes: 0 all held, 1 a property failed, 2 bad input.

Bad input (an invalid workload, an unknown engine, an unreadable file) is one line on stderr and
exit 2 — never a traceback. Set TXLANES_DEBUG=1 to see the traceback of an internal error.
Each subcommand lives in a module of its own (``cmd_NAME.py``) and declares its parser there.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from rich.console import Console

from txlanes import __version__
from txlanes.models.tx import UnknownTransaction
from txlanes.models.workload import WorkloadError

from . import (
    cmd_bench,
    cmd_check,
    cmd_gen,
    cmd_history,
    cmd_mutants,
    cmd_replay,
    cmd_run,
    cmd_verify,
)
from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, UsageError

#: The subcommands, in the order ``txlanes --help`` lists them.
COMMANDS = (
    cmd_run,
    cmd_gen,
    cmd_check,
    cmd_replay,
    cmd_mutants,
    cmd_history,
    cmd_verify,
    cmd_bench,
)


class _Parser(argparse.ArgumentParser):
    """An argument error is one line, as every other bad input is: the usage block that
    argparse prints first buries it in CI logs (``--help`` still shows it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"txlanes: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="txlanes",
        description="Prove, test and measure parallel blockchain execution engines.",
    )
    parser.add_argument("--version", action="version", version=f"txlanes {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # a bad argument (one line printed), or --help / --version
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    console = Console(stderr=True)
    before = set(threading.enumerate())
    try:
        code: int = args.handler(args, console)
    except (UsageError, WorkloadError, UnknownTransaction) as err:
        print(f"txlanes: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("txlanes: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # an internal bug: one line, traceback on demand
        if os.environ.get("TXLANES_DEBUG"):
            raise
        print(
            f"txlanes: internal error: {type(err).__name__}: {err} (TXLANES_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    _exit_past_stuck_threads(before, code)
    return code


def _exit_past_stuck_threads(before: set[threading.Thread], code: int) -> None:
    """An engine under test may leave a thread of its own running (a deadlock its block's
    watchdog gave up on); the interpreter would wait for it at exit forever, so exit now."""
    if any(t not in before and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
