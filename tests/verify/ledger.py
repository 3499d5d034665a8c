"""What the verification suite proved, one line per check, printed as one table.

Each check of tests/verify/ records what it did (the load it held, the faults it
survived, the bad inputs it tried) and what went wrong (items lost, secrets
leaked, 500 answers) *before* it asserts, so a failing run still shows its
numbers. `make verify` runs every check at full size (FLEETWARD_VERIFY=full);
`make test` runs the same checks small.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

COLUMNS = (
    ("load", "load held"),
    ("faults", "faults survived"),
    ("bad_inputs", "bad inputs tried"),
    ("losses", "losses"),
    ("leaks", "leaks"),
    ("server_errors", "500s"),
)


def full_run() -> bool:
    """True under `make verify`; `make test` runs every check at its small size."""
    return os.environ.get("FLEETWARD_VERIFY", "").lower() == "full"


def size(small: int, full: int) -> int:
    """A check's size: `small` in `make test`, `full` in `make verify`."""
    return full if full_run() else small


@dataclass
class Line:
    check: str
    load: int = 0  # requests or items sent and answered while the check ran
    faults: int = 0  # faults injected (kill -9, full disk, restarts) and survived
    bad_inputs: int = 0  # hostile or malformed inputs sent
    losses: int = 0  # acknowledged items missing (or stored twice) afterwards
    leaks: int = 0  # secrets found where they must not be, or cross-tenant data seen
    server_errors: int = 0  # 500 answers (and 503s outside an injected fault)
    note: str = ""

    def add(self, **counts: int) -> Line:
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + value)
        return self


@dataclass
class Ledger:
    lines: dict[str, Line]

    def line(self, check: str) -> Line:
        """The line of one check, made on first use; a check may add to it many times."""
        return self.lines.setdefault(check, Line(check))

    def as_rows(self) -> list[dict[str, object]]:
        """Plain rows, for a test worker to hand its lines to the run's controller."""
        return [asdict(line) for line in self.lines.values()]

    def merge(self, rows: list[dict[str, object]]) -> None:
        """Add another worker's rows: counts add up, a note is kept."""
        for row in rows:
            line = self.line(str(row["check"]))
            line.add(**{name: int(str(row[name])) for name, _ in COLUMNS})
            line.note = line.note or str(row["note"])

    def totals(self) -> Line:
        total = Line("total")
        for line in self.lines.values():
            total.add(**{f.name: getattr(line, f.name) for f in fields(Line) if f.type == "int"})
        return total

    def table(self) -> str:
        rows = [
            [line.check, *(str(getattr(line, c)) for c, _ in COLUMNS), line.note]
            for line in self.lines.values()
        ]
        total = self.totals()
        rows.append(["TOTAL", *(str(getattr(total, c)) for c, _ in COLUMNS), ""])
        header = ["check", *(title for _, title in COLUMNS), "note"]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

        def fmt(row: list[str]) -> str:
            return " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))

        rule = "-+-".join("-" * width for width in widths)
        return "\n".join([fmt(header), rule, *(fmt(r) for r in rows[:-1]), rule, fmt(rows[-1])])

    def clean(self) -> bool:
        total = self.totals()
        return total.losses == 0 and total.leaks == 0 and total.server_errors == 0
