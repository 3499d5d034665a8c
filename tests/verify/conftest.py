"""The verification suite's ledger: one per test process (see tests/verify/report.py)."""

from __future__ import annotations

import pytest

from tests.verify.ledger import Ledger
from tests.verify.report import LEDGER


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return LEDGER
