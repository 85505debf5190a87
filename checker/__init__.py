"""txlanes.checker — IS IT RIGHT: equivalence, dependency graphs, invariants and proofs."""
