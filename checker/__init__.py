"""txlanes.checker — IS IT RIGHT: equivalence, dependency graphs, invariants and proofs."""

if __name__ != "txlanes.checker":  # e.g. "checker", with the repository root on sys.path
    raise ImportError(
        f"{__name__!r} is txlanes.checker under another name (is the repository root on"
        " sys.path?): import txlanes.checker instead. Two copies of a module have distinct"
        " classes, so an engine would reject the other copy's transactions (UnknownTransaction)."
    )
