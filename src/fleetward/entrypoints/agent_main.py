"""`fleetward agent run`: the endpoint agent's command line (the agent is fleetward.agent)."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from fleetward.agent.collectors.winevent import POWERSHELL
from fleetward.agent.outbox import DEFAULT_CAPACITY
from fleetward.agent.runner import AgentOptions, Runner
from fleetward.agent.shipper import MAX_BATCH

agent_app = typer.Typer(
    help="The endpoint agent that runs on managed machines.", no_args_is_help=True
)


@agent_app.callback()
def _group() -> None:
    """The endpoint agent that runs on managed machines."""  # keeps `run` a sub-command


def default_state_dir() -> Path:
    """Where a service keeps the agent's state unless told otherwise."""
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "Fleetward" / "agent"
    return Path("/var/lib/fleetward-agent")


@agent_app.command("run")
def run(
    server: Annotated[
        str, typer.Option(help="The Fleetward server, e.g. https://fleetward.example.")
    ],
    token: Annotated[
        str | None,
        typer.Option(
            help="A site's enrolment token; needed on the first start only.",
            envvar="FLEETWARD_AGENT_TOKEN",
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the agent keeps its key, outbox and watermarks "
            "(default /var/lib/fleetward-agent, or %PROGRAMDATA%\\Fleetward\\agent)."
        ),
    ] = None,
    evtx_dir: Annotated[
        list[Path] | None, typer.Option(help="A folder of .evtx files to read (repeatable).")
    ] = None,
    journald: Annotated[bool, typer.Option(help="Read the systemd journal.")] = False,
    journalctl: Annotated[
        str, typer.Option(help="The journalctl command (words split as a shell would).")
    ] = "journalctl",
    winevent: Annotated[
        list[str] | None,
        typer.Option(help="A Windows event log to read with Get-WinEvent (repeatable)."),
    ] = None,
    powershell: Annotated[
        str,
        typer.Option(
            help="The PowerShell command Get-WinEvent runs in (words split as a shell would)."
        ),
    ] = " ".join(POWERSHELL),
    poll_seconds: Annotated[
        float, typer.Option(min=0.1, help="Seconds between reads of the sources.")
    ] = 10.0,
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="Items per batch sent.")
    ] = MAX_BATCH,
    outbox_capacity: Annotated[
        int, typer.Option(min=1, help="Items the outbox keeps while the server is away.")
    ] = DEFAULT_CAPACITY,
    channel: Annotated[
        bool, typer.Option(help="Keep the control channel (config, commands) open.")
    ] = True,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Run the agent until SIGTERM or Ctrl+C: enrol once, then collect and ship."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per request would drown what matters; failures are logged by the agent.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not (evtx_dir or journald or winevent or sys.platform == "win32"):
        logging.getLogger("fleetward.agent").warning(
            "no source given (--evtx-dir, --journald, --winevent): only the agent's own events"
        )
    options = AgentOptions(
        server=server,
        token=token,
        state_dir=state_dir or default_state_dir(),
        evtx_dirs=tuple(evtx_dir or ()),
        journald=journald,
        journalctl=tuple(shlex.split(journalctl, posix=sys.platform != "win32")),
        winevent_logs=tuple(winevent or ()),
        powershell=tuple(shlex.split(powershell, posix=sys.platform != "win32")),
        poll_seconds=poll_seconds,
        batch_size=batch_size,
        capacity=outbox_capacity,
        channel=channel,
    )
    try:
        runner = Runner(options)
    except OSError as error:  # e.g. the default state directory needs root
        typer.echo(f"error: cannot use the state directory {options.state_dir}: {error}", err=True)
        raise typer.Exit(1) from None
    runner.install_signal_handlers()
    raise typer.Exit(runner.run())


def main() -> None:
    agent_app()


# `python -m fleetward.entrypoints.agent_main run ...` is the same as `fleetward agent run`
# (see entrypoints/command.py): neither imports the server.
if __name__ == "__main__":
    main()
