"""Shared fixtures. Real test data lives in ../shared/data (YULIAO_TEST_DATA overrides). Locally a missing data
folder skips the tests that need it; in CI (CI=true or YULIAO_REQUIRE_DATA=1) it fails them instead."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _data_root() -> Path:
    return Path(os.environ.get("YULIAO_TEST_DATA", REPO.parent / "shared" / "data")).resolve()


def _require() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("YULIAO_REQUIRE_DATA") == "1"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = _data_root()
    if not (root / "README.md").exists():
        if _require():
            pytest.fail(f"shared test data not found at {root} (set YULIAO_TEST_DATA)")
        pytest.skip(f"shared test data not found at {root}")
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
