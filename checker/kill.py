"""Running the mutant catalogue through the default campaign: the toolkit's proof of power."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from dataclasses import dataclass

from txlanes.executor.mutants import ENGINE_MUTANTS, HARD_MUTANTS, Mutant
from txlanes.executor.registry import resolve

from .campaign import Campaign
from .profiles import CONTENTION, PROFILES, Profile


@dataclass(frozen=True)
class Kill:
    """How the default campaign fared against one mutant."""

    mutant: str
    bug: str
    killed: bool
    contention: str  # the profile that killed it ("" if none did)
    seconds_to_kill: float | None  # from the campaign's start to the first failing example
    seconds: float  # including shrinking
    txs: int | None  # the shrunk counterexample's size
    message: str


def kill(mutant: Mutant, profile: Profile = PROFILES["ci"], seed: int = 0) -> Kill:
    """Run the default campaign against ``mutant``, stopping at the first profile that fails."""
    start = time.perf_counter()
    campaign = Campaign([resolve(f"mutant:{mutant.name}")], profile, CONTENTION, seed)
    campaign.stop_on_failure = True
    elapsed = 0.0
    for outcome in campaign.run():
        if outcome.failure is None:
            elapsed += outcome.seconds
            continue
        failure = outcome.failure
        return Kill(
            mutant.name,
            mutant.bug,
            True,
            outcome.contention,
            elapsed + (outcome.seconds_to_failure or 0.0),
            time.perf_counter() - start,
            failure.txs,
            f"{failure.kind}: {failure.message}",
        )
    return Kill(mutant.name, mutant.bug, False, "", None, time.perf_counter() - start, None, "")


def kill_isolated(mutant: Mutant, profile: str = "ci", seed: int = 0) -> Kill:
    """:func:`kill` in a fresh interpreter, with the same modules loaded every time.

    Hypothesis mixes into generation constants it collects from every *local* module loaded
    (``hypothesis.internal.conjecture.providers._get_local_constants``; an editable install is
    local), so what a campaign generates depends on what the process has imported: importing
    ``txlanes.models.demo`` first turns one budget-edge kill into a survival. A fresh
    interpreter per mutant makes the report and the tests agree, run to run.
    """
    argv = [sys.executable, "-m", "txlanes.checker.kill", mutant.name, profile, str(seed)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"killing {mutant.name} failed: {done.stderr.strip()[-2000:]}")
    return Kill(**json.loads(done.stdout))


def _main(name: str, profile: str, seed: str) -> None:
    (mutant,) = (m for m in (*ENGINE_MUTANTS, *HARD_MUTANTS) if m.name == name)
    print(json.dumps(dataclasses.asdict(kill(mutant, PROFILES[profile], int(seed)))))


if __name__ == "__main__":
    _main(*sys.argv[1:])
