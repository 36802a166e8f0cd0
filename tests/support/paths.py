"""Where the tests find this checkout, its test data and ../shared."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
SHARED_TOKENIZER = SHARED / "data" / "codellama-tokenizer" / "tokenizer.model"
