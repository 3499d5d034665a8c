"""The verification suite's ledger, and the table it prints at the end of the run."""

from __future__ import annotations

import pytest

from tests.verify.ledger import Ledger, full_run

_LEDGER = Ledger({})


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return _LEDGER


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _LEDGER.lines:
        return
    size = "full size (make verify)" if full_run() else "small size (make test)"
    terminalreporter.section(f"verification, {size}")
    terminalreporter.write_line(_LEDGER.table())
    verdict = "clean" if _LEDGER.clean() else "NOT CLEAN: losses, leaks or 500s above"
    terminalreporter.write_line(f"verdict: {verdict}")
