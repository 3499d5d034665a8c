"""`fleetward evtx import`: archived .evtx files into an agent's timeline and alerts.

Runs on the server against the configured database, like the other commands,
through the same classification, watch rules and dedup as the agent's batches.
"""

from __future__ import annotations

import struct
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from fleetward.domain.eventlog import DamagedRecord
from fleetward.entrypoints.cli_common import UserError, err, open_container, out, run_action
from fleetward.services.evtx_import import FileReport

evtx_app = typer.Typer(help="Import archived Windows event logs (.evtx).", no_args_is_help=True)

EVTX_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
HEADER_BLOCK = 4096
CHUNK_SIZE = 64 * 1024


def _checked_file(path: Path) -> Path:
    """The path, if it names a readable .evtx file; a message the user can act on if not."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with path.open("rb") as file:
            head = file.read(len(EVTX_MAGIC))
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror or error})") from None
    if head != EVTX_MAGIC:
        raise UserError(f"{path} is not an .evtx file (it does not start with the ElfFile header)")
    return path


def estimated_records(path: Path) -> int | None:
    """The records the file's chunk headers announce: the progress bar's total.

    Only an estimate (a damaged chunk holds fewer), read from 24 bytes of each
    64 KiB chunk, so it costs nothing next to parsing the file.
    """
    total = 0
    try:
        with path.open("rb") as file:
            offset = HEADER_BLOCK
            while True:
                file.seek(offset)
                head = file.read(24)
                if len(head) < 24:
                    break
                if head[:8] == CHUNK_MAGIC:
                    first, last = struct.unpack_from("<QQ", head, 8)
                    if first <= last:
                        total += last - first + 1
                offset += CHUNK_SIZE
    except OSError:
        return None
    return total or None


def _damage(damage: DamagedRecord) -> str:
    around = []
    if damage.record_id is not None:
        around.append(f"record {damage.record_id}")
    if damage.previous_record_id is not None:
        around.append(f"after record {damage.previous_record_id}")
    if damage.next_record_id is not None:
        around.append(f"before record {damage.next_record_id}")
    where = f" ({', '.join(around)})" if around else ""
    return f"  damaged record skipped at position {damage.position}{where}: {damage.reason}"


def _summary(report: FileReport) -> list[str]:
    lines = [
        f"{report.path.name}: {report.good} good records, {len(report.damaged)} damaged "
        f"skipped; timeline {report.timeline_added} added, {report.timeline_duplicates} "
        f"duplicates; {report.matches} watch-rule matches: {report.alerts_created} alerts "
        f"created ({report.tickets} to tickets, {report.suppressed} suppressed), "
        f"{report.alert_duplicates} duplicates, {report.ignored} ignored"
    ]
    lines += [_damage(d) for d in report.damaged]
    return lines


@evtx_app.command("import")
def import_files(
    agent: Annotated[
        str, typer.Option("--agent", help="Id of the agent whose machine wrote the logs.")
    ],
    files: Annotated[
        list[Path], typer.Argument(help="One or more .evtx files.", metavar="FILE...")
    ],
) -> None:
    """Load archived .evtx files as if the agent had sent them; importing twice adds nothing."""

    def action() -> None:
        try:
            agent_id = uuid.UUID(agent)
        except ValueError:
            raise UserError(f"--agent: {agent!r} is not an agent id") from None
        paths = [_checked_file(path) for path in files]
        reports: list[FileReport] = []
        with open_container() as c:
            found = c.evtx_import.agent(agent_id)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("records"),
                TimeElapsedColumn(),
                console=err,
            ) as bar:
                for path in paths:
                    task = bar.add_task(path.name, total=estimated_records(path))

                    def advance(n: int, task: TaskID = task) -> None:
                        bar.advance(task, n)

                    try:
                        report = c.evtx_import.import_file(found, path, advance)
                    except OSError as error:
                        raise UserError(f"{path}: {error}") from None
                    read = report.good + len(report.damaged)
                    bar.update(task, total=read, completed=read)
                    reports.append(report)
        out.print(f"agent {found.hostname} ({found.id})", highlight=False)
        for report in reports:
            for line in _summary(report):
                out.print(line, highlight=False, soft_wrap=True)
        if len(reports) > 1:
            total = FileReport(Path("total"))
            for report in reports:
                total.good += report.good
                total.damaged += report.damaged
                total.timeline_added += report.timeline_added
                total.timeline_duplicates += report.timeline_duplicates
                total.matches += report.matches
                total.alerts_created += report.alerts_created
                total.alert_duplicates += report.alert_duplicates
                total.tickets += report.tickets
                total.suppressed += report.suppressed
                total.ignored += report.ignored
            out.print(_summary(total)[0], highlight=False, soft_wrap=True)

    run_action(action)
