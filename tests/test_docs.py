"""The documentation names every transaction type, key schema, mutant and CLI command."""

from __future__ import annotations

from pathlib import Path

from txlanes.executor.mutants import ENGINE_MUTANTS, HARD_MUTANTS
from txlanes.models import KEY_SCHEMAS, TX_TYPES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_workload_format_lists_every_type_and_schema() -> None:
    text = (DOCS / "workload-format.md").read_text()
    missing = [k for k in (*TX_TYPES, *KEY_SCHEMAS) if f"`{k}`" not in text]
    assert missing == [], f"docs/workload-format.md does not document {missing}"


def test_mutant_catalogue_is_documented() -> None:
    text = (DOCS / "mutants.md").read_text()
    missing = [m.name for m in (*ENGINE_MUTANTS, *HARD_MUTANTS) if f"`{m.name}`" not in text]
    assert missing == [], f"docs/mutants.md does not document {missing}"
