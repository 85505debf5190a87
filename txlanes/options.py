"""Options more than one command takes, declared once, with one help text each; and the bounds
policy every numeric option and output path of every command is checked against."""

from __future__ import annotations

import argparse
import os
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from txlanes.checker.profiles import PROFILES
from txlanes.executor.registry import BUILTINS, MAX_COUNT
from txlanes.models.uint import MAX_UINT256

from .errors import UsageError

Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class Range(Generic[Number]):
    """An argparse ``type``: a number from ``low`` to ``high``. Help texts show ``str(range)``,
    so the range an option documents is the one it enforces; a value outside it (NaN and
    infinities included) is exit 2 before any work starts, naming the option and the range."""

    low: Number
    high: Number
    #: Why the maximum is what it is, shown with the range.
    why: str = ""
    noun: str = "a whole number"

    def __call__(self, text: str) -> Number:
        try:
            value = self.parse(text)
        except ValueError:  # not a number, or more than 4,300 digits (int_max_str_digits)
            value = None
        if value is None or not self.low <= value <= self.high:  # NaN compares False
            raise argparse.ArgumentTypeError(
                f"must be {self.noun} from {_show(self.low)} to {_show(self.high)}"
                + (f" ({self.why})" if self.why else "")
                + f", got {_shown(text)}"
            )
        return value

    def __str__(self) -> str:
        return f"{_show(self.low)}..{_show(self.high)}" + (f" ({self.why})" if self.why else "")

    @abstractmethod
    def parse(self, text: str) -> Number: ...


class Whole(Range[int]):
    def parse(self, text: str) -> int:
        return int(text)


class Seconds(Range[float]):
    def parse(self, text: str) -> float:
        return float(text)


def _show(n: float) -> str:
    """``2**64-1`` rather than 20 digits; thousands separated otherwise."""
    if isinstance(n, int) and n >= 2**32 and (n + 1).bit_count() == 1:
        return f"2**{n.bit_length()}-1"
    return f"{n:,}" if isinstance(n, int) else f"{n:g}"


def _shown(text: str) -> str:
    """The value as given, cut short: a 5,000-digit argument must not flood the terminal."""
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text):,} characters)"


#: Transactions a command may generate or measure at once: about 1 KB of memory each (a
#: generated block of 1,000,000 transfers peaks at 0.95 GB), so 10,000,000 need some 10 GB.
MAX_TXS = 10_000_000
BYTES_PER_TX = 1_000
TXS = Whole(0, MAX_TXS, "about 1 KB of memory each")
COUNT = Whole(1, MAX_COUNT, "more threads, processes or shards exhaust the machine")
SEED = Whole(0, 2**64 - 1)
UINT256 = Whole(0, MAX_UINT256, "a uint256")
#: Hypothesis examples per engine and contention profile: 20 times the stress profile's.
EXAMPLES = Whole(1, 100_000, "20 times the stress profile")
#: A deadline is at least a millisecond (the solver's unit: less would mean none) and at most
#: a day: a CI gate that waits longer has hung.
SECONDS = Seconds(0.001, 86_400.0, "a millisecond to a day", "a number of seconds")
#: Transactions per generated block of a campaign (``--block-size MIN..MAX``).
BLOCK_TXS = Whole(1, 100_000)


def fits_in_memory(what: str, nbytes: int) -> None:
    """Refuse, before any work, a size this machine cannot hold (instead of swapping or dying
    of the OOM killer hours later)."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # a platform that does not say
        return
    if nbytes > physical:
        raise UsageError(
            f"{what} need about {_bytes(nbytes)} of memory, and this machine has "
            f"{_bytes(physical)}: ask for fewer"
        )


def _bytes(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


#: The longest file name most file systems take.
NAME_MAX = 255


def output_file(text: str) -> Path:
    """An argparse ``type`` for a file a command writes: checked before any work starts."""
    problem = _unwritable(text, directory=False)
    if problem:
        raise argparse.ArgumentTypeError(f"{_shown(text)} {problem}")
    return Path(text)


def output_dir(text: str) -> Path:
    """An argparse ``type`` for a directory a command writes its reports into."""
    problem = _unwritable(text, directory=True)
    if problem:
        raise argparse.ArgumentTypeError(f"{_shown(text)} {problem}")
    return Path(text)


def check_output(flag: str, path: Path) -> Path:
    """``output_file`` for a path a command derives (a default): a UsageError naming ``flag``."""
    problem = _unwritable(str(path), directory=False)
    if problem:
        raise UsageError(f"{flag} {_shown(str(path))} {problem}; give another with {flag}")
    return path


def _unwritable(text: str, *, directory: bool) -> str | None:
    """Why ``text`` cannot be written (as a file, or a directory to write files in), or None."""
    if not text:
        return "is empty: name a directory" if directory else "is empty: name a file"
    if not directory and text.endswith(("/", os.sep)):
        return "ends in a separator: name a file, e.g. DIR/out.json"
    path = Path(os.path.abspath(text))
    if any(len(os.fsencode(part)) > NAME_MAX for part in path.parts):
        return f"has a name longer than {NAME_MAX} bytes"
    if path.is_dir() and not directory:
        return "is a directory: name a file in it"
    if (path.exists() or path.is_symlink()) and not (
        path.is_dir() if directory else path.is_file()
    ):
        return "exists and is not a directory" if directory else "exists and is not a regular file"
    # the directory the file (or the new directories) will be created in
    start = path if directory else path.parent
    ancestor = next(p for p in (start, *start.parents) if p.exists() or p.is_symlink())
    if not ancestor.is_dir():
        return f"is under {ancestor}, which is not a directory"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot be written: {ancestor} is not writable"
    return None


ENGINE_HELP = (
    f"an engine: NAME[:N][?OPTION=VALUE&...] with NAME one of {', '.join(BUILTINS)}; "
    "mutant:NAME; pkg.module:Class; or cmd:COMMAND (docs/engines.md)"
)
ENGINE_CMD_HELP = (
    "an engine in any language, a command speaking the external-engine protocol "
    "(docs/external-engine-protocol.md), e.g. 'node examples/node-engine/engine.js'; "
    "the same as an engine spec cmd:COMMAND"
)
TIMEOUT_HELP = (
    "seconds an engine we did not write (cmd: or pkg.module:Class) may take to load, start or"
    f" answer one block, {SECONDS}"
)


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
        type=SECONDS,
        default=timeout,
        metavar="SECONDS",
        help=f"{TIMEOUT_HELP}; default {timeout:g}",
    )


def engine_specs(args: argparse.Namespace, default: tuple[str, ...]) -> list[str]:
    """The engines ``--engine`` and ``--engine-cmd`` name, in order (``default`` if none)."""
    named = [args.engine] if isinstance(args.engine, str) else list(args.engine or ())
    specs = [*named, *(f"cmd:{command}" for command in args.engine_cmd)]
    return specs or list(default)


def engine_timeout(args: argparse.Namespace) -> float:
    """``--engine-timeout``, in SECONDS (its type checked it)."""
    seconds: float = args.engine_timeout
    return seconds


def add_reports_option(parser: argparse.ArgumentParser, holds: str) -> None:
    """``--reports``, checked writable when the command starts, not when it ends."""
    parser.add_argument(
        "--reports", type=output_dir, default="reports", help=f"directory for {holds} (reports)"
    )


def block_size(text: str) -> tuple[int, int]:
    """``MIN..MAX`` (or one number) for ``--block-size``: MIN <= MAX, both in BLOCK_TXS."""
    low, sep, high = text.partition("..")
    try:
        bounds = (int(low), int(high if sep else low))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be MIN..MAX or N, e.g. 1..12 or 100..300, got {_shown(text)}"
        ) from None
    if not BLOCK_TXS.low <= bounds[0] <= bounds[1] <= BLOCK_TXS.high:
        raise argparse.ArgumentTypeError(
            f"must be MIN..MAX with MIN <= MAX, both in {BLOCK_TXS}, got {_shown(text)}"
        )
    return bounds


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    """``--profile`` and ``--seed`` of a campaign."""
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="ci",
        help="example budget: ci (fast, default), dev, stress",
    )
    parser.add_argument("--seed", type=SEED, default=0, help=f"Hypothesis seed, {SEED} (0)")


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
