"""The ledger's table adds up the lines and calls a run clean only without losses."""

from __future__ import annotations

from tests.verify.ledger import Ledger


def test_the_table_totals_every_column_and_flags_losses() -> None:
    ledger = Ledger({})
    ledger.line("kill -9 during intake").add(load=100, faults=3)
    ledger.line("secret scan").add(bad_inputs=7)
    assert ledger.clean()
    ledger.line("kill -9 during intake").add(losses=1)
    table = ledger.table()
    total_row = table.splitlines()[-1]
    assert [cell.strip() for cell in total_row.split("|")[1:7]] == ["100", "3", "7", "1", "0", "0"]
    assert not ledger.clean()


def test_a_workers_lines_add_up_in_the_controllers_ledger() -> None:
    worker = Ledger({})
    worker.line("kill -9 during intake").add(load=10, faults=1)
    worker.line("secret scan").add(leaks=1).note = "found in a log line"
    controller = Ledger({})
    controller.line("kill -9 during intake").add(load=5)
    controller.merge(worker.as_rows())
    assert controller.line("kill -9 during intake").load == 15
    assert controller.line("kill -9 during intake").faults == 1
    assert controller.line("secret scan").note == "found in a log line"
    assert not controller.clean()
