"""Reporters subscribe to a campaign's events; adding a format never touches an engine.

Terminal (rich progress while it runs, a table at the end), JUnit XML (for CI systems), JSON
(for tools) and Markdown (for people). Files are written atomically.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from tabulate import tabulate

from txlanes.checker.campaign import CheckFinished, CheckStarted, Event, ExampleRan, Outcome
from txlanes.reports import write_atomic, write_json


class TerminalReporter:
    """A progress bar per (engine, contention) on stderr while the campaign runs."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}

    def __enter__(self) -> TerminalReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        if isinstance(event, CheckStarted):
            self._tasks[(event.target, event.contention)] = self.progress.add_task(
                f"{event.target} · {event.contention}", total=event.examples, status=""
            )
        elif isinstance(event, ExampleRan):
            task = self._tasks[(event.target, event.contention)]
            self.progress.advance(task)
            if event.failed:
                self.progress.update(task, status="[red]failed, shrinking…")
        elif isinstance(event, CheckFinished):
            o = event.outcome
            task = self._tasks[(o.target, o.contention)]
            status = "[green]held" if o.failure is None else f"[red]FAILED ({o.failure.kind})"
            # Shrinking runs more examples than the budget: show what actually ran.
            self.progress.update(task, total=o.examples, completed=o.examples, status=status)


def summary_rows(outcomes: list[Outcome]) -> list[list[Any]]:
    rows = []
    for o in outcomes:
        f = o.failure
        rows.append(
            [
                o.target,
                o.contention,
                o.examples,
                f"{o.seconds:.1f}",
                "held" if f is None else f"FAILED: {f.kind}",
                "" if f is None else f.txs,
            ]
        )
    return rows


HEADERS = ["engine", "contention", "examples", "seconds", "result", "counterexample txs"]


def summary_table(outcomes: list[Outcome], fmt: str = "github") -> str:
    return tabulate(summary_rows(outcomes), headers=HEADERS, tablefmt=fmt)


def write_junit(path: Path, outcomes: list[Outcome], replay_files: dict[int, Path]) -> Path:
    suite = ET.Element(
        "testsuite",
        name="txlanes check",
        tests=str(len(outcomes)),
        failures=str(sum(o.failure is not None for o in outcomes)),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for i, o in enumerate(outcomes):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"txlanes.{o.target}",
            name=o.contention,
            time=f"{o.seconds:.3f}",
        )
        if o.failure is not None:
            failure = ET.SubElement(case, "failure", message=o.failure.message, type=o.failure.kind)
            failure.text = f"{o.failure.message}\nreplay: txlanes replay {replay_files.get(i, '')}"
    return write_atomic(path, ET.tostring(suite, encoding="unicode") + "\n")


def write_json_report(
    path: Path, outcomes: list[Outcome], replay_files: dict[int, Path], meta: dict[str, Any]
) -> Path:
    return write_json(
        path,
        {
            "format": "txlanes-check",
            "version": 1,
            **meta,
            "results": [
                {
                    "engine": o.target,
                    "contention": o.contention,
                    "examples": o.examples,
                    "seconds": round(o.seconds, 3),
                    "seconds_to_failure": o.seconds_to_failure,
                    "held": o.failure is None,
                    "failure": None
                    if o.failure is None
                    else {
                        "kind": o.failure.kind,
                        "message": o.failure.message,
                        "txs": o.failure.txs,
                        "replay": str(replay_files.get(i, "")),
                    },
                }
                for i, o in enumerate(outcomes)
            ],
        },
    )


def write_markdown(path: Path, outcomes: list[Outcome], replay_files: dict[int, Path]) -> Path:
    lines = ["# txlanes check", "", summary_table(outcomes), ""]
    for i, o in enumerate(outcomes):
        if o.failure is not None:
            lines += [
                f"## {o.target} · {o.contention}: {o.failure.kind}",
                "",
                "```",
                o.failure.message,
                "```",
                "",
                f"Replay: `txlanes replay {replay_files.get(i, '')}`",
                "",
            ]
    return write_atomic(path, "\n".join(lines))
