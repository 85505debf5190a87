"""Options more than one command takes, declared once, with one help text each."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from txlanes.checker.profiles import PROFILES
from txlanes.executor.registry import BUILTINS

from .errors import UsageError

ENGINE_HELP = (
    f"an engine: NAME[:N][?OPTION=VALUE&...] with NAME one of {', '.join(BUILTINS)}; "
    "mutant:NAME; pkg.module:Class; or cmd:COMMAND (docs/engines.md)"
)
ENGINE_CMD_HELP = (
    "an engine in any language, a command speaking the external-engine protocol "
    "(docs/external-engine-protocol.md), e.g. 'node examples/node-engine/engine.js'; "
    "the same as an engine spec cmd:COMMAND"
)
TIMEOUT_HELP = "seconds a cmd: engine may take to answer one block"


def add_engine_options(
    parser: argparse.ArgumentParser, *, many: bool, default: str, timeout: float
) -> None:
    """``--engine``, ``--engine-cmd`` and ``--engine-timeout``."""
    parser.add_argument(
        "--engine",
        action="append" if many else "store",
        metavar="SPEC",
        help=f"{ENGINE_HELP}{'; repeatable' if many else ''}; default: {default}",
    )
    parser.add_argument(
        "--engine-cmd",
        action="append",
        default=[],
        metavar="COMMAND",
        help=ENGINE_CMD_HELP + (" (repeatable)" if many else ""),
    )
    parser.add_argument(
        "--engine-timeout",
        type=float,
        default=timeout,
        metavar="SECONDS",
        help=f"{TIMEOUT_HELP} ({timeout:g})",
    )


def engine_specs(args: argparse.Namespace, default: tuple[str, ...]) -> list[str]:
    """The engines ``--engine`` and ``--engine-cmd`` name, in order (``default`` if none)."""
    named = [args.engine] if isinstance(args.engine, str) else list(args.engine or ())
    specs = [*named, *(f"cmd:{command}" for command in args.engine_cmd)]
    return specs or list(default)


def engine_timeout(args: argparse.Namespace) -> float:
    seconds: float = args.engine_timeout
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"--engine-timeout must be a number of seconds > 0, got {seconds}")
    return seconds


def add_reports_option(parser: argparse.ArgumentParser, holds: str) -> None:
    parser.add_argument(
        "--reports", type=Path, default=Path("reports"), help=f"directory for {holds} (reports)"
    )


def block_size(text: str) -> tuple[int, int]:
    """``MIN..MAX`` (or one number) for ``--block-size``: 1 <= MIN <= MAX <= 100,000."""
    low, sep, high = text.partition("..")
    try:
        bounds = (int(low), int(high if sep else low))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be MIN..MAX or N, e.g. 1..12 or 100..300, got {text!r}"
        ) from None
    if not 1 <= bounds[0] <= bounds[1] <= 100_000:
        raise argparse.ArgumentTypeError(f"must satisfy 1 <= MIN <= MAX <= 100000, got {text!r}")
    return bounds


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    """``--profile`` and ``--seed`` of a campaign."""
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="ci",
        help="example budget: ci (fast, default), dev, stress",
    )
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (0)")


def add_ray_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--ray",
        action="store_true",
        help=f"run {what} as a Ray task on a local Ray instance (pip install 'txlanes[ray]')",
    )
    parser.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="run the tasks on this Ray cluster (implies --ray; txlanes and your engine must be "
        "importable on its workers)",
    )
