"""``txlanes check`` — the CI gate: campaigns against sequential execution, reports, failures."""

from __future__ import annotations

import argparse
import dataclasses
import re
from typing import Any

from rich.console import Console

from txlanes import __version__
from txlanes.checker.campaign import Campaign
from txlanes.checker.coverage import Coverage
from txlanes.checker.failure import Outcome, Status
from txlanes.checker.profiles import CONTENTION, PROFILES
from txlanes.checker.ray_campaign import run_on_ray
from txlanes.checker.replay import failure_to_json
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.ray_cluster import RayUnavailable
from txlanes.executor.registry import DEFAULT_CHECK, Target, TargetError, resolve
from txlanes.files import write_atomic, write_json
from txlanes.progress import TerminalReporter
from txlanes.render import (
    check_json,
    check_junit,
    check_markdown,
    check_summary,
    coverage_text,
    failure_text,
    summary_table,
)

from . import options
from .errors import EXIT_FAILED, EXIT_OK, UsageError


def add_parser(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="property-test engines against sequential execution (the CI gate)"
    )
    options.add_engine_options(check, many=True, default=", ".join(DEFAULT_CHECK), timeout=10.0)
    options.add_ray_options(check, "each (engine, contention) campaign")
    options.add_budget_options(check)
    check.add_argument(
        "--examples",
        type=options.EXAMPLES,
        help=f"examples per engine and contention profile, {options.EXAMPLES}",
    )
    check.add_argument(
        "--contention",
        action="append",
        choices=[c.name for c in CONTENTION],
        help="contention profiles to run (repeatable; default: all)",
    )
    check.add_argument(
        "--block-size",
        metavar="MIN..MAX",
        type=options.block_size,
        help="transactions per generated block, e.g. 1..12 or 100..300 (default: every profile's"
        f" own: mostly 1 to 12, now and then up to 200); MIN and MAX in {options.BLOCK_TXS}",
    )
    check.add_argument(
        "--coverage",
        action="store_true",
        help="print what generation reached (per kind, its successes and revert reasons; "
        "boundary values; behaviours) and write coverage.json beside the reports",
    )
    options.add_reports_option(check, "check.json, check.xml, check.md and failures/")
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    timeout = options.engine_timeout(args)
    contentions = tuple(c for c in CONTENTION if not args.contention or c.name in args.contention)
    if args.block_size is not None:
        contentions = tuple(dataclasses.replace(c, block_size=args.block_size) for c in contentions)
    if args.coverage and (args.ray or args.ray_address):
        raise UsageError("--coverage runs here, not on Ray: drop --ray or --coverage")
    coverage = Coverage()
    try:
        targets = [
            resolve(spec, timeout=timeout, reports=args.reports)
            for spec in options.engine_specs(args, DEFAULT_CHECK)
        ]
        campaign = Campaign(targets, PROFILES[args.profile], contentions, args.seed, args.examples)
        with TerminalReporter(console) as terminal:
            campaign.listeners.append(terminal)
            if args.coverage:
                campaign.listeners.append(coverage)
            if args.ray or args.ray_address:
                outcomes = run_on_ray(campaign, args.ray_address)
            else:
                outcomes = campaign.run()
    except (TargetError, ExternalEngineError, RayUnavailable) as err:
        raise UsageError(str(err)) from None
    for spec, contention in campaign.skipped:
        print(f"skipped {spec} · {contention}: it supports none of that profile's transactions")
    unchecked = _unchecked(targets, outcomes, campaign.skipped)
    if unchecked and not any(o.failure is not None for o in outcomes):
        raise UsageError(unchecked[0])  # a failure elsewhere is the verdict; else nothing held

    for outcome in outcomes:
        if outcome.failure is not None:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{outcome.target}-{outcome.contention}")
            path = args.reports / "failures" / f"{name}.json"
            outcome.failure.replay_file = write_json(path, failure_to_json(outcome.failure))
    meta = {"txlanes": __version__, "profile": args.profile, "seed": args.seed}
    write_json(args.reports / "check.json", check_json(outcomes, meta))
    write_atomic(args.reports / "check.xml", check_junit(outcomes))
    write_atomic(args.reports / "check.md", check_markdown(outcomes))

    if args.coverage:
        write_json(args.reports / "coverage.json", coverage.to_json())
        print(coverage_text(coverage) + "\n")
    print(summary_table(outcomes))
    for outcome in outcomes:
        if outcome.failure is not None:
            print(f"\n{failure_text(outcome.failure)}")
    print(f"\n{check_summary(outcomes, args.reports)}")
    for line in unchecked:
        print(line)
    return EXIT_FAILED if any(o.failure is not None for o in outcomes) else EXIT_OK


def _unchecked(
    targets: list[Target], outcomes: list[Outcome], skipped: list[tuple[str, str]]
) -> list[str]:
    """What was asked for but not checked, one line each: an engine every profile was skipped
    for, a campaign that ran no example. A gate must never say "held" for those."""
    ran = {outcome.target for outcome in outcomes}
    lines = [
        f"nothing was checked of {target.spec}: it supports none of the transactions of the "
        f"profiles {', '.join(c for spec, c in skipped if spec == target.spec)} (it declares "
        f"{', '.join(sorted(target.kinds or ()))}): choose a --contention it supports"
        for target in targets
        if target.spec not in ran
    ]
    lines += [
        f"nothing was checked of {o.target} · {o.contention}: no example ran"
        for o in outcomes
        if o.status is Status.UNCHECKED
    ]
    return lines
