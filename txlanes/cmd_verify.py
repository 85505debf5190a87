"""``txlanes verify`` — solver-backed per-operation proofs over the spec."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from tabulate import tabulate

from txlanes.checker.proofs import COUNTEREXAMPLE, Prover, Result
from txlanes.checker.symbolic import Uninterpretable
from txlanes.models.tx import TX_TYPES
from txlanes.reports import write_atomic, write_json

from .errors import EXIT_FAILED, EXIT_OK, UsageError


def add_parser(commands: Any) -> None:
    verify = commands.add_parser(
        "verify", help="prove per-operation properties of the spec with z3 (all pre-states)"
    )
    verify.add_argument(
        "--ops",
        action="append",
        metavar="KIND",
        help="transaction types or prefixes, e.g. erc20.transfer or gov. (repeatable; "
        "default: all)",
    )
    verify.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per operation (30); then UNKNOWN"
    )
    verify.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        help="directory for verify.md and verify.json",
    )
    verify.set_defaults(handler=cmd_verify)


def _select(ops: list[str] | None) -> list[str]:
    if not ops:
        return sorted(TX_TYPES)
    chosen: list[str] = []
    for op in ops:
        matches = sorted(k for k in TX_TYPES if k == op or (op.endswith(".") and k.startswith(op)))
        if not matches:
            raise UsageError(f"--ops {op!r}: no such transaction type (e.g. erc20.transfer, gov.)")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be > 0, got {args.timeout}")
    kinds = _select(args.ops)
    prover = Prover(budget_seconds=args.timeout, timeout_ms=int(min(args.timeout, 10) * 1000))
    results: list[Result] = []
    with console.status("") as status:
        for i, kind in enumerate(kinds, 1):
            status.update(f"proving {kind} ({i}/{len(kinds)})")
            try:
                results += prover.prove(kind)
            except Uninterpretable as err:
                raise UsageError(
                    f"{kind}: the symbolic context cannot interpret it: {err}"
                ) from None
    rows = [[r.kind, r.prop, r.verdict, r.paths, f"{r.seconds:.2f}", r.note] for r in results]
    table = tabulate(
        rows,
        headers=["operation", "property", "result", "paths", "solver s", "note"],
        tablefmt="github",
    )
    lines = [table]
    for r in results:
        if r.counterexample is not None:
            c = r.counterexample
            lines.append(
                f"\nCOUNTEREXAMPLE {r.kind} · {r.prop}: {c.tx} on pre-state {{{c.detail}}} — "
                + (
                    "confirmed by replay through the sequential engine"
                    if c.confirmed
                    else "NOT reproduced by the sequential engine"
                )
            )
    print("\n".join(lines))
    write_atomic(args.reports / "verify.md", "# txlanes verify\n\n" + "\n".join(lines) + "\n")
    write_json(
        args.reports / "verify.json",
        {
            "format": "txlanes-verify",
            "version": 1,
            "results": [
                {
                    "operation": r.kind,
                    "property": r.prop,
                    "result": r.verdict,
                    "paths": r.paths,
                    "seconds": round(r.seconds, 3),
                    "note": r.note,
                    "counterexample": None
                    if r.counterexample is None
                    else {
                        "tx": repr(r.counterexample.tx),
                        "pre_state": r.counterexample.detail,
                        "confirmed": r.counterexample.confirmed,
                    },
                }
                for r in results
            ],
        },
    )
    return EXIT_FAILED if any(r.verdict == COUNTEREXAMPLE for r in results) else EXIT_OK
