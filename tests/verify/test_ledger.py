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
