"""One renderer for what a command found: the terminal, Markdown, JSON, JUnit and the pytest
plugin all show a check's failure through :func:`failure_text`, so what a user reads is the same
wherever they look — the problem, the whole counterexample with its block environment, and the
command that replays it. The mutant kill report and the proofs' report are drawn here too."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from tabulate import tabulate

from txlanes.checker.coverage import Coverage
from txlanes.checker.equivalence import describe_tx
from txlanes.checker.failure import Failure, Outcome, Status
from txlanes.checker.kill import Kill
from txlanes.checker.protocol_proofs import ProtocolResult
from txlanes.checker.prover import Result
from txlanes.models.context import BlockEnv
from txlanes.models.workload import workload_to_json


def failure_title(failure: Failure) -> str:
    """``FAILED blockstm-det · hot-key (divergence, 3 txs, 2 workers)``."""
    where = failure.target + (f" · {failure.contention}" if failure.contention else "")
    facts = [str(failure.kind), f"{failure.txs} txs"]
    if failure.parallelism:
        facts.append(failure.parallelism)
    if failure.reproduced is not None:
        facts.append("failed {} of {} runs".format(*failure.reproduced))
    return f"FAILED {where} ({', '.join(facts)})"


def _env(env: BlockEnv) -> str:
    text = f"number {env.number}, timestamp {env.timestamp}"
    if env.fee:
        text += (
            f"; every tx first pays a fee of {env.fee} of token {env.fee_token} "
            f"to {env.fee_recipient}"
        )
    return text


def failure_text(failure: Failure) -> str:
    """The failure in full, as every report shows it."""
    lines = [f"{failure_title(failure)}:", f"  {failure.message}", "  counterexample:"]
    for b, block in enumerate(failure.workload.blocks):
        lines.append(f"    block {b} ({_env(block.env)}):")
        lines += [f"      tx {t}: {describe_tx(tx)}" for t, tx in enumerate(block.txs)]
    if failure.replay_file is not None:
        lines.append(f"  replay: txlanes replay {failure.replay_file}")
    return "\n".join(lines)


def failure_json(failure: Failure) -> dict[str, Any]:
    """The failure for tools: the structured problem and counterexample, and the text."""
    return {
        "kind": failure.kind.value,
        "message": failure.message,
        "problem": failure.problem.to_json(),
        "txs": failure.txs,
        "workers": failure.workers,
        "parallelism": failure.parallelism,
        "reproduced": None if failure.reproduced is None else list(failure.reproduced),
        "workload": workload_to_json(failure.workload),
        "replay": "" if failure.replay_file is None else str(failure.replay_file),
        "text": failure_text(failure),
    }


# -- a whole check -------------------------------------------------------------------------------

HEADERS = ["engine", "contention", "examples", "seconds", "result", "counterexample txs"]


def summary_table(outcomes: list[Outcome], fmt: str = "github") -> str:
    rows = [
        [
            o.target,
            o.contention,
            o.examples,
            f"{o.seconds:.1f}",
            str(o.status) if o.failure is None else f"FAILED: {o.failure.kind}",
            "" if o.failure is None else o.failure.txs,
        ]
        for o in outcomes
    ]
    return tabulate(rows, headers=HEADERS, tablefmt=fmt)


def check_json(outcomes: list[Outcome], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "txlanes-check",
        "version": 1,
        **meta,
        "results": [
            {
                "engine": o.target,
                "contention": o.contention,
                "status": o.status.value,
                "examples": o.examples,
                "seconds": round(o.seconds, 3),
                "seconds_to_failure": o.seconds_to_failure,
                "held": o.status is Status.HELD,
                "failure": None if o.failure is None else failure_json(o.failure),
            }
            for o in outcomes
        ],
    }


def check_junit(outcomes: list[Outcome]) -> str:
    suite = ET.Element(
        "testsuite",
        name="txlanes check",
        tests=str(len(outcomes)),
        failures=str(sum(o.failure is not None for o in outcomes)),
        errors="0",
        skipped="0",
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for o in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"txlanes.{o.target}",
            name=o.contention,
            time=f"{o.seconds:.3f}",
        )
        if o.failure is not None:
            element = ET.SubElement(
                case, "failure", message=o.failure.message, type=o.failure.kind.value
            )
            element.text = failure_text(o.failure)
    body = ET.tostring(suite, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'


def check_markdown(outcomes: list[Outcome]) -> str:
    lines = ["# txlanes check", "", summary_table(outcomes), ""]
    for o in outcomes:
        if o.failure is not None:
            lines += [
                f"## {o.target} · {o.contention}: {o.failure.kind}",
                "",
                "```text",
                failure_text(o.failure),
                "```",
                "",
            ]
    return "\n".join(lines)


def check_summary(outcomes: list[Outcome], reports: object) -> str:
    held = sum(o.status is Status.HELD for o in outcomes)
    failed = sum(o.status is Status.FAILED for o in outcomes)
    unchecked = len(outcomes) - held - failed
    also = f", {unchecked} checked nothing" if unchecked else ""
    return f"{held} held, {failed} failed{also}; reports in {reports}/"


# -- the mutant catalogue ------------------------------------------------------------------------


def coverage_text(coverage: Coverage) -> str:
    """What generation reached: per kind its successes and (kind, revert reason) pairs reached
    of those the spec can produce, then every pair and behaviour not reached."""
    report = coverage.to_json()
    rows = []
    for kind, row in report["kinds"].items():
        possible = [r for r in row["reverts"] if r not in row["unreachable"]]
        reached = sum(1 for r in possible if row["reverts"][r])
        rows.append([kind, row["txs"], row["ok"], f"{reached}/{len(possible)}"])
    table = tabulate(rows, ["kind", "txs", "succeeded", "revert reasons reached"], "github")
    unreached, missing = coverage.unreached(), coverage.missing_behaviours()
    total = report["expected_pairs"]
    lines = [
        f"coverage of {report['examples']} distinct workloads ({report['blocks']} blocks)",
        table,
        f"\n{total - len(unreached)}/{total} (kind, revert reason) pairs reached "
        f"({len(coverage.unreachable_pairs())} more are unreachable from the genesis: "
        "docs/coverage.md)",
    ]
    lines += [f"  not reached: {kind} · {reason}" for kind, reason in unreached]
    lines += [f"  behaviour not reached: {name}" for name in missing]
    lines += [f"  reached but declared unreachable: {k} · {r}" for k, r in coverage.unexpected()]
    return "\n".join(lines)


def kill_table(kills: list[Kill]) -> str:
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
    return tabulate(rows, headers=headers, tablefmt="github")


def kill_summary(kills: list[Kill], profile: str, seed: int) -> str:
    killed = sum(k.killed for k in kills)
    times = sorted(k.seconds_to_kill for k in kills if k.seconds_to_kill is not None)
    median = times[len(times) // 2] if times else float("nan")
    sizes = [k.txs for k in kills if k.txs is not None]
    return (
        f"{killed}/{len(kills)} killed; median time to kill {median:.2f} s; "
        f"largest counterexample {max(sizes, default=0)} txs "
        f"(profile {profile}, seed {seed})"
    )


def kill_markdown(kills: list[Kill], profile: str, seed: int) -> str:
    return (
        f"# Mutant kill report\n\n{kill_table(kills)}\n\n{kill_summary(kills, profile, seed)}\n\n"
        + "\n".join(f"- `{k.mutant}`: {k.bug}. {k.message}" for k in kills)
        + "\n"
    )


# -- the proofs ----------------------------------------------------------------------------------


def verify_text(results: list[Result], protocol: list[ProtocolResult], name: str) -> str:
    """The proofs' table, then each counterexample (a protocol's with its trace)."""
    rows = [[r.kind, r.prop, r.verdict.value, r.paths, f"{r.seconds:.2f}", r.note] for r in results]
    rows += [[f"{name} · {r.scope}", r.prop, r.verdict.value, "", f"{r.seconds:.2f}", r.note]
             for r in protocol]  # fmt: skip
    headers = ["operation", "property", "result", "paths", "solver s", "note"]
    lines = [tabulate(rows, headers=headers, tablefmt="github")]
    for r in results:
        if r.counterexample is not None:
            c = r.counterexample
            replayed = (
                "confirmed by replay through the sequential engine"
                if c.confirmed
                else "NOT reproduced by the sequential engine"
            )
            lines.append(
                f"\nCOUNTEREXAMPLE {r.kind} · {r.prop}: {c.tx} on pre-state {{{c.detail}}} — "
                + replayed
            )
    for p in protocol:
        if p.trace:
            lines.append(f"\nCOUNTEREXAMPLE {name} · {p.scope} · {p.prop} — {p.note}")
            lines += [f"    {line}" for line in p.trace]
    return "\n".join(lines)


def verify_json(results: list[Result], protocol: list[ProtocolResult], name: str) -> dict[str, Any]:
    return {
        "format": "txlanes-verify",
        "version": 1,
        "results": [
            {
                "operation": r.kind,
                "property": r.prop,
                "result": r.verdict.value,
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
        "protocol": [
            {
                "protocol": name,
                "scope": p.scope,
                "property": p.prop,
                "result": p.verdict.value,
                "seconds": round(p.seconds, 3),
                "note": p.note,
                "trace": p.trace,
            }
            for p in protocol
        ],
    }
