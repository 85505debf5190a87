"""Live progress of a check: a reporter subscribes to the campaign's events, so showing
progress never touches a campaign or an engine (the results are drawn by render.py)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from txlanes.checker.campaign import CheckFinished, CheckStarted, Event, ExampleRan


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
