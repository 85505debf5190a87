"""``txlanes gen`` — write a generated workload file (docs/workload-format.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from txlanes.files import write_atomic
from txlanes.models.demo import demo_workload
from txlanes.models.generate import transfers
from txlanes.models.workload import workload_to_text

from .errors import EXIT_OK, UsageError


def add_parser(commands: Any) -> None:
    gen = commands.add_parser("gen", help="write a generated workload file")
    gen.add_argument("kind", choices=["transfers", "demo"], help="what to generate")
    gen.add_argument("--txs", type=int, default=100_000, help="transfers: how many (100000)")
    gen.add_argument("--accounts", type=int, default=1_000, help="transfers: accounts (1000)")
    gen.add_argument("--block-size", type=int, help="transfers: txs per block (all in one)")
    gen.add_argument("--fee", type=int, default=0, help="transfers: fee every tx pays (0)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (0)")
    gen.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    gen.set_defaults(handler=cmd_gen)


def cmd_gen(args: argparse.Namespace, console: Console) -> int:
    if args.kind == "demo":
        workload = demo_workload()
    else:
        try:
            workload = transfers(
                txs=args.txs,
                accounts=args.accounts,
                seed=args.seed,
                block_size=args.block_size,
                fee=args.fee,
            )
        except ValueError as err:
            raise UsageError(str(err)) from None
    write_atomic(args.output, workload_to_text(workload))
    print(f"wrote {sum(len(b.txs) for b in workload.blocks)} txs to {args.output}")
    return EXIT_OK
