"""txlanes: prove, test and measure parallel blockchain execution engines.

The public API lives in the sub-packages: :mod:`txlanes.models` (the spec and workloads),
:mod:`txlanes.executor` (engines) and :mod:`txlanes.checker` (correctness checks).
"""

__version__ = "0.1.0"
