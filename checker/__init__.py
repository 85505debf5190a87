"""txlanes.checker — IS IT RIGHT: equivalence, dependency graphs, invariants and proofs."""

if __name__ != "txlanes.checker":  # the repository root on sys.path: a second copy of each module
    raise ImportError(f"import txlanes.checker, not {__name__!r} (a second copy: other classes)")
