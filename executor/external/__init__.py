"""txlanes.executor.external — engines in other languages, driven over a JSON-lines protocol
(docs/external-engine-protocol.md)."""

from .engine import ExternalEngine, ExternalEngineError
from .protocol import VERSION

__all__ = ["VERSION", "ExternalEngine", "ExternalEngineError"]
