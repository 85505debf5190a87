"""A campaign's seed alone decides what it generates: not what else the process imported.

Hypothesis mixes constants from every loaded local module into generation; a campaign must not
see them, or a mutant killed in one process survives in another (docs/mutants.md)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import hashlib, sys
if sys.argv[1] == "more":  # modules full of constants, loaded before the campaign
    import txlanes.checker.prover, txlanes.executor.bench.suite, txlanes.models.demo
from txlanes.checker.campaign import Campaign, ExampleRan
from txlanes.checker.profiles import CONTENTION
from txlanes.executor.registry import resolve

seen = []
campaign = Campaign([resolve("sequential")], contentions=CONTENTION[:2], examples=40)
def listen(event):
    if isinstance(event, ExampleRan):
        seen.append(repr(event.workload))
campaign.listeners.append(listen)
campaign.run()
print(len(seen), hashlib.sha256("".join(seen).encode()).hexdigest())
"""


def _generated(imports: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, imports], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_same_seed_generates_the_same_examples_whatever_is_imported() -> None:
    few, more = _generated("few"), _generated("more")
    assert few.startswith("80 ") and few == more
