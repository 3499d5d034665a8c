"""The `fleetward` console script.

`fleetward agent ...` runs on customers' machines, beside their users: it goes
straight to the agent's command line without importing the server (FastAPI,
SQLAlchemy and the rest cost some 50 MB resident that the agent never uses).
Every other command is the server's command line, whose help lists `agent` too.
"""

from __future__ import annotations

import sys


def main() -> None:
    # Imported here, not at the top: which stack is loaded is the whole point.
    if sys.argv[1:2] == ["agent"]:
        from fleetward.entrypoints.agent_main import agent_app

        agent_app(args=sys.argv[2:], prog_name="fleetward agent")
        return
    from fleetward.entrypoints.cli import main as server_main

    server_main()
