"""The one vocabulary of proof outcomes, shared by the spec's per-operation proofs
(checker/prover.py) and the commit protocol's proofs (checker/protocol_proofs.py), so that
``txlanes verify`` reports and counts both the same way.

A solver's own answer (sat, unsat, unknown) is not a verdict: see ``Answer`` in
checker/symbolic_explorer.py.
"""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    """What a proof established; ``value`` is how reports print it."""

    #: the property holds (for the per-operation proofs: on a path shown satisfiable)
    PROVED = "PROVED"
    #: a state that violates it (replayed concretely to confirm it)
    COUNTEREXAMPLE = "COUNTEREXAMPLE"
    #: the solver or the time budget gave up first: never counted as proved
    UNKNOWN = "UNKNOWN"
    #: success paths exist, but none touches what the property is about (approve and balances)
    NOT_APPLICABLE = "N/A"
    #: no feasible success path at all: a proof would hold vacuously, so it is not claimed
    VACUOUS = "VACUOUS"

    def __str__(self) -> str:
        return self.value
