"""Shared test fixtures.

``shared_data`` points at the real source mirror in ``../shared/data``; tests that need
it skip with a clear reason when it is absent (it is never committed to the project).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(os.environ.get("CCLREVIEW_MIRROR") or ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data mirror; skips the test when the folder is absent."""
    if not (SHARED_DATA / "ccl").is_dir():
        pytest.skip(f"real data mirror not found at {SHARED_DATA} (set CCLREVIEW_MIRROR)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The hand-written fixtures under tests/fixtures."""
    return FIXTURES
