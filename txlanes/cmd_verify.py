"""``txlanes verify`` — solver-backed per-operation proofs over the spec."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from txlanes.checker.protocol_proofs import ProtocolResult, bmc, prove_inductive, vacuity
from txlanes.checker.prover import Prover, Result
from txlanes.checker.symbolic_values import Uninterpretable
from txlanes.checker.verdict import Verdict
from txlanes.executor.sharded.finite import standard_instance
from txlanes.executor.sharded.protocol import PROTOCOL_MUTANTS, TwoPhaseCommit
from txlanes.files import write_atomic, write_json
from txlanes.models.tx import TX_TYPES
from txlanes.render import verify_json, verify_text

from .errors import EXIT_FAILED, EXIT_OK, UsageError
from .options import SECONDS, Whole, add_reports_option

#: The sizes of the cross-shard bounded model (executor/sharded/finite.py) verify checks.
SHARDS = Whole(2, 6, "the bounded model's instances")
DEPTH = Whole(1, 30)


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
        "--timeout",
        type=SECONDS,
        default=30.0,
        help=f"seconds per operation, {SECONDS}; default 30; then UNKNOWN",
    )
    verify.add_argument(
        "--shards", type=SHARDS, metavar="N", help="cross-shard commit: shards in the bounded "
        f"model, {SHARDS}; default 2. Giving --shards or --depth alone checks only the protocol",
    )  # fmt: skip
    verify.add_argument(
        "--depth", type=DEPTH, metavar="K", help="cross-shard commit: steps of bounded model "
        f"checking, {DEPTH}; default 8",
    )  # fmt: skip
    verify.add_argument(
        "--protocol",
        default=TwoPhaseCommit.name,
        choices=[TwoPhaseCommit.name, *PROTOCOL_MUTANTS],
        help="the commit protocol to check: the real one, or a seeded bug (default 2pc)",
    )
    add_reports_option(verify, "verify.md and verify.json")
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


def _protocol_results(args: argparse.Namespace, status: Any) -> list[ProtocolResult]:
    shards = 2 if args.shards is None else args.shards
    depth = 8 if args.depth is None else args.depth
    protocol = PROTOCOL_MUTANTS.get(args.protocol, TwoPhaseCommit)()
    timeout_ms = int(args.timeout * 1000)
    status.update(f"cross-shard commit: bounded model checking, {shards} shards, depth 0/{depth}")
    results = bmc(
        protocol, standard_instance(shards), depth, timeout_ms,
        progress=lambda level: status.update(
            f"cross-shard commit: bounded model checking, {shards} shards, depth {level}/{depth}"
        ),
    )  # fmt: skip
    status.update("cross-shard commit: inductive invariant for any number of shards")
    return results + prove_inductive(protocol, timeout_ms) + vacuity(protocol, timeout_ms)


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    protocol_asked = args.shards is not None or args.depth is not None
    protocol_asked = protocol_asked or args.protocol != TwoPhaseCommit.name
    kinds = _select(args.ops) if args.ops or not protocol_asked else []
    prover = Prover(budget_seconds=args.timeout, timeout_ms=int(min(args.timeout, 10) * 1000))
    results: list[Result] = []
    protocol: list[ProtocolResult] = []
    with console.status("") as status:
        for i, kind in enumerate(kinds, 1):
            status.update(f"proving {kind} ({i}/{len(kinds)})")
            try:
                results += prover.prove(kind)
            except Uninterpretable as err:
                raise UsageError(
                    f"{kind}: the symbolic context cannot interpret it: {err}"
                ) from None
        if protocol_asked or not args.ops:
            protocol = _protocol_results(args, status)
    text = verify_text(results, protocol, args.protocol)
    print(text)
    write_atomic(args.reports / "verify.md", f"# txlanes verify\n\n{text}\n")
    write_json(args.reports / "verify.json", verify_json(results, protocol, args.protocol))
    failed = [r.verdict for r in results] + [p.verdict for p in protocol]
    return EXIT_FAILED if Verdict.COUNTEREXAMPLE in failed else EXIT_OK
