"""``txlanes mutants`` — does the default check kill every seeded bug of the catalogue?"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from rich.console import Console

from txlanes.checker.kill import kill_isolated
from txlanes.executor.mutants import ENGINE_MUTANTS
from txlanes.files import write_atomic, write_json
from txlanes.render import kill_markdown, kill_summary, kill_table

from .errors import EXIT_FAILED, EXIT_OK
from .options import add_budget_options, add_reports_option


def add_parser(commands: Any) -> None:
    mut = commands.add_parser(
        "mutants", help="run the catalogue of seeded engine bugs: does the check kill each one?"
    )
    add_budget_options(mut)
    add_reports_option(mut, "mutants.md and mutants.json")
    mut.set_defaults(handler=cmd_mutants)


def cmd_mutants(args: argparse.Namespace, console: Console) -> int:
    # each kill is a fresh interpreter (kill_isolated): one per core at a time
    cores = max(1, min(os.cpu_count() or 1, len(ENGINE_MUTANTS)))
    with console.status("") as status, ThreadPoolExecutor(cores) as pool:
        futures = [
            pool.submit(kill_isolated, mutant, args.profile, args.seed) for mutant in ENGINE_MUTANTS
        ]
        for done, _ in enumerate(as_completed(futures), 1):
            status.update(f"mutants: {done}/{len(futures)} done")
        kills = [future.result() for future in futures]
    print(kill_table(kills))
    print(f"\n{kill_summary(kills, args.profile, args.seed)}")
    write_atomic(args.reports / "mutants.md", kill_markdown(kills, args.profile, args.seed))
    write_json(
        args.reports / "mutants.json",
        {"profile": args.profile, "seed": args.seed, "kills": [k.__dict__ for k in kills]},
    )
    return EXIT_OK if all(k.killed for k in kills) else EXIT_FAILED
