"""``txlanes check`` — the CI gate — and ``txlanes replay`` for the failures it saves."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from tabulate import tabulate

from txlanes import __version__
from txlanes.checker.campaign import CONTENTION, PROFILES, Campaign
from txlanes.checker.equivalence import describe_tx
from txlanes.checker.history import load_history
from txlanes.checker.kill import kill_isolated
from txlanes.checker.mutants import ENGINE_MUTANTS
from txlanes.checker.ray_campaign import run_on_ray
from txlanes.checker.replay import failure_to_json, load_failure, replay
from txlanes.checker.serializability import find_anomaly
from txlanes.checker.targets import DEFAULT_TARGETS, TargetError, external, resolve
from txlanes.executor.external import ExternalEngineError
from txlanes.executor.sharded.ray_actors import RayUnavailable
from txlanes.reporters import (
    TerminalReporter,
    summary_table,
    write_json_report,
    write_junit,
    write_markdown,
)
from txlanes.reports import write_atomic, write_json

from .errors import EXIT_FAILED, EXIT_OK, UsageError


def add_parsers(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="property-test engines against sequential execution (the CI gate)"
    )
    check.add_argument(
        "--engine",
        action="append",
        metavar="SPEC",
        help="blockstm, blockstm-threads, sequential, sharded, multicore, mutant:NAME, "
        "pkg.module:Class or "
        f"cmd:COMMAND (repeatable; default without --engine-cmd: {', '.join(DEFAULT_TARGETS)})",
    )
    check.add_argument(
        "--engine-cmd",
        action="append",
        default=[],
        metavar="COMMAND",
        help="an engine in any language: a command speaking the external-engine protocol "
        "(docs/external-engine-protocol.md), e.g. 'node examples/node-engine/engine.js' "
        "(repeatable)",
    )
    check.add_argument(
        "--engine-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="--engine-cmd: seconds an engine may take to answer one block (10)",
    )
    check.add_argument(
        "--ray",
        action="store_true",
        help="run each (engine, contention) campaign as a Ray task on a local Ray instance "
        "(pip install 'txlanes[ray]')",
    )
    check.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="run the campaigns on this Ray cluster (implies --ray; txlanes and your engine "
        "must be importable on its workers)",
    )
    check.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="ci",
        help="example budget: ci (fast, default), dev, stress",
    )
    check.add_argument("--examples", type=int, help="examples per engine and contention profile")
    check.add_argument("--seed", type=int, default=0, help="Hypothesis seed (0)")
    check.add_argument(
        "--contention",
        action="append",
        choices=[c.name for c in CONTENTION],
        help="contention profiles to run (repeatable; default: all)",
    )
    check.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        help="directory for check.json, check.xml, check.md and failures/",
    )
    check.set_defaults(handler=cmd_check)

    rep = commands.add_parser("replay", help="re-run a saved failure: FIXED or FAILED")
    rep.add_argument("failure", type=Path, help="a failure file written by txlanes check")
    rep.set_defaults(handler=cmd_replay)

    mut = commands.add_parser(
        "mutants", help="run the catalogue of seeded engine bugs: does the check kill each one?"
    )
    mut.add_argument("--profile", choices=sorted(PROFILES), default="ci", help="budget (ci)")
    mut.add_argument("--seed", type=int, default=0, help="Hypothesis seed (0)")
    mut.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        help="directory for mutants.md and mutants.json",
    )
    mut.set_defaults(handler=cmd_mutants)

    hist = commands.add_parser(
        "history", help="check that a recorded history is serializable (docs/history-format.md)"
    )
    hist.add_argument("history", type=Path, help="a history JSON file")
    hist.set_defaults(handler=cmd_history)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    if args.examples is not None and args.examples < 1:
        raise UsageError(f"--examples must be >= 1, got {args.examples}")
    if args.engine_timeout <= 0:
        raise UsageError(f"--engine-timeout must be > 0, got {args.engine_timeout}")
    specs = args.engine or ([] if args.engine_cmd else DEFAULT_TARGETS)
    contentions = tuple(c for c in CONTENTION if not args.contention or c.name in args.contention)
    try:
        targets = [resolve(spec) for spec in specs] + [
            external(cmd, timeout=args.engine_timeout, reports=args.reports)
            for cmd in args.engine_cmd
        ]
        campaign = Campaign(targets, PROFILES[args.profile], contentions, args.seed, args.examples)
        with TerminalReporter(console) as terminal:
            campaign.listeners.append(terminal)
            if args.ray or args.ray_address:
                outcomes = run_on_ray(campaign, args.ray_address)
            else:
                outcomes = campaign.run()
    except (TargetError, ExternalEngineError, RayUnavailable) as err:
        raise UsageError(str(err)) from None
    for spec, contention in campaign.skipped:
        print(f"skipped {spec} · {contention}: it supports none of that profile's transactions")
    if not outcomes:
        raise UsageError("nothing was checked: the engines support none of the profiles' txs")

    failures_dir = args.reports / "failures"
    replay_files: dict[int, Path] = {}
    for i, outcome in enumerate(outcomes):
        if outcome.failure is not None:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{outcome.target}-{outcome.contention}")
            replay_files[i] = write_json(
                failures_dir / f"{name}.json", failure_to_json(outcome.failure)
            )
    meta = {"txlanes": __version__, "profile": args.profile, "seed": args.seed}
    write_json_report(args.reports / "check.json", outcomes, replay_files, meta)
    write_junit(args.reports / "check.xml", outcomes, replay_files)
    write_markdown(args.reports / "check.md", outcomes, replay_files)

    print(summary_table(outcomes))
    for i, outcome in enumerate(outcomes):
        if outcome.failure is not None:
            f = outcome.failure
            print(f"\nFAILED {f.target} · {f.contention} ({f.kind}, {f.txs} txs):\n  {f.message}")
            print(f"  counterexample ({f.workers} workers):")
            for b, block in enumerate(f.workload.blocks):
                for t, tx in enumerate(block.txs):
                    print(f"    block {b} tx {t}: {describe_tx(tx)}")
            print(f"  replay: txlanes replay {replay_files[i]}")
    failed = sum(o.failure is not None for o in outcomes)
    print(f"\n{len(outcomes) - failed} held, {failed} failed; reports in {args.reports}/")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_replay(args: argparse.Namespace, console: Console) -> int:
    failure = load_failure(args.failure)
    try:
        problem = replay(failure)
    except (TargetError, ExternalEngineError) as err:
        raise UsageError(str(err)) from None
    if problem is None:
        print(f"FIXED: {failure.target} now passes {args.failure}")
        return EXIT_OK
    kind, message = problem
    print(f"FAILED ({kind}): {message}")
    return EXIT_FAILED


def cmd_history(args: argparse.Namespace, console: Console) -> int:
    history = load_history(args.history)
    anomaly = find_anomaly(history)
    if anomaly is None:
        print(f"serializable: {len(history.txs)} transactions, no dependency cycle")
        return EXIT_OK
    print(anomaly.explain())
    return EXIT_FAILED


def cmd_mutants(args: argparse.Namespace, console: Console) -> int:
    kills = []
    with console.status("") as status:
        for i, mutant in enumerate(ENGINE_MUTANTS, 1):
            status.update(f"mutant {i}/{len(ENGINE_MUTANTS)}: {mutant.name}")
            kills.append(kill_isolated(mutant, args.profile, args.seed))
    rows = [
        [
            k.mutant,
            f"killed ({k.contention})" if k.killed else "SURVIVED",
            "" if k.seconds_to_kill is None else f"{k.seconds_to_kill:.2f}",
            f"{k.seconds:.1f}",
            "" if k.txs is None else k.txs,
        ]
        for k in kills
    ]
    headers = ["mutant", "result", "seconds to kill", "seconds (with shrinking)", "txs"]
    table = tabulate(rows, headers=headers, tablefmt="github")
    killed = sum(k.killed for k in kills)
    times = sorted(k.seconds_to_kill for k in kills if k.seconds_to_kill is not None)
    median = times[len(times) // 2] if times else float("nan")
    sizes = [k.txs for k in kills if k.txs is not None]
    summary = (
        f"{killed}/{len(kills)} killed; median time to kill {median:.2f} s; "
        f"largest counterexample {max(sizes, default=0)} txs "
        f"(profile {args.profile}, seed {args.seed})"
    )
    print(table)
    print(f"\n{summary}")
    write_atomic(
        args.reports / "mutants.md",
        f"# Mutant kill report\n\n{table}\n\n{summary}\n\n"
        + "\n".join(f"- `{k.mutant}`: {k.bug}. {k.message}" for k in kills)
        + "\n",
    )
    write_json(
        args.reports / "mutants.json",
        {"profile": args.profile, "seed": args.seed, "kills": [k.__dict__ for k in kills]},
    )
    return EXIT_OK if killed == len(kills) else EXIT_FAILED
