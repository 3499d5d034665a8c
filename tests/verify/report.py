"""The table of the verification suite, printed once at the end of a run.

Under pytest-xdist each worker process fills its own ledger; a worker hands
its lines to the controller when it finishes, and the controller prints the
sum. The hooks are registered by tests/conftest.py, so the controller, which
collects nothing, has them too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.verify.ledger import Ledger, full_run

LEDGER = Ledger({})
_OUTPUT_KEY = "fleetward_verify_ledger"


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the lines over
        workeroutput[_OUTPUT_KEY] = LEDGER.as_rows()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    LEDGER.merge(getattr(node, "workeroutput", {}).get(_OUTPUT_KEY, []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not LEDGER.lines or hasattr(terminalreporter.config, "workerinput"):
        return
    size = "full size (make verify)" if full_run() else "small size (make test)"
    terminalreporter.section(f"verification, {size}")
    terminalreporter.write_line(LEDGER.table())
    verdict = "clean" if LEDGER.clean() else "NOT CLEAN: losses, leaks or 500s above"
    terminalreporter.write_line(f"verdict: {verdict}")
