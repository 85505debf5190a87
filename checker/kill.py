"""Running the mutant catalogue through the default campaign: the toolkit's proof of power."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .campaign import CONTENTION, PROFILES, Campaign, Profile
from .mutants import Mutant
from .targets import resolve


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
