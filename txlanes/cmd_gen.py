"""``txlanes gen`` — write a generated workload file (docs/workload-format.md)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from txlanes.files import write_atomic
from txlanes.models.demo import demo_workload
from txlanes.models.generate import transfers
from txlanes.models.workload import workload_to_text

from . import options
from .errors import EXIT_OK, UsageError

#: Accounts of a generated genesis: about 700 bytes of memory each (1,000,000 peak at 0.67 GB).
ACCOUNTS = options.Whole(2, 10_000_000, "about 700 bytes of memory each")
BYTES_PER_ACCOUNT = 700
BLOCK_SIZE = options.Whole(1, options.MAX_TXS)


def add_parser(commands: Any) -> None:
    gen = commands.add_parser("gen", help="write a generated workload file")
    gen.add_argument("kind", choices=["transfers", "demo"], help="what to generate")
    gen.add_argument(
        "--txs",
        type=options.TXS,
        default=100_000,
        help=f"transfers: how many, {options.TXS}; default 100000",
    )
    gen.add_argument(
        "--accounts",
        type=ACCOUNTS,
        default=1_000,
        help=f"transfers: accounts, {ACCOUNTS}; default 1000",
    )
    gen.add_argument(
        "--block-size",
        type=BLOCK_SIZE,
        help=f"transfers: txs per block, {BLOCK_SIZE}; default: all in one block",
    )
    gen.add_argument(
        "--fee",
        type=options.UINT256,
        default=0,
        help=f"transfers: fee every tx pays, {options.UINT256}; default 0",
    )
    gen.add_argument(
        "--seed", type=options.SEED, default=0, help=f"random seed, {options.SEED} (0)"
    )
    gen.add_argument(
        "-o", "--output", type=options.output_file, required=True, help="the file to write"
    )
    gen.set_defaults(handler=cmd_gen)


def cmd_gen(args: argparse.Namespace, console: Console) -> int:
    if args.kind == "demo":
        workload = demo_workload()
    else:
        options.fits_in_memory(
            f"--txs {args.txs:,} and --accounts {args.accounts:,}",
            args.txs * options.BYTES_PER_TX + args.accounts * BYTES_PER_ACCOUNT,
        )
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
