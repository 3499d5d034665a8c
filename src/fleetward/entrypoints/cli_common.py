"""What every `fleetward` command shares: options, the container, one-line errors.

Its own module so the command modules (cli.py, cli_evtx.py) import it and not
each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from fleetward.adapters.storage import migrate
from fleetward.bootstrap import Container, build, configure_logging
from fleetward.config import Settings
from fleetward.domain.errors import FleetwardError, StorageUnavailable

out = Console()
err = Console(stderr=True)

T = TypeVar("T")


class UserError(Exception):
    """A mistake the person at the keyboard can fix; shown without a traceback."""


class GlobalOptions:
    """The options given before the command (`fleetward --data-dir ... init`)."""

    data_dir: Path | None = None
    database_url: str | None = None


options = GlobalOptions()


def load_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if options.data_dir is not None:
        values["data_dir"] = options.data_dir
    if options.database_url is not None:
        values["database_url"] = options.database_url
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UserError(f"setting {field}: {first['msg']}") from None


@contextmanager
def open_container(
    settings: Settings | None = None, migrate_schema: bool = False
) -> Iterator[Container]:
    settings = settings or load_settings()
    configure_logging(settings)
    try:
        container = build(settings, migrate_schema=migrate_schema)
    except ValueError as error:
        raise UserError(str(error)) from None
    try:
        if not migrate_schema and migrate.current_revision(container.db) != migrate.head_revision(
            container.db
        ):
            raise UserError(
                "the database is not initialised or is out of date: run `fleetward init`"
            )
        yield container
    finally:
        container.close()


def run_action(action: Callable[[], T]) -> T:
    """Turn expected failures into one clear line and a non-zero exit."""
    try:
        return action()
    except StorageUnavailable as error:
        # The operator at the keyboard gets the driver's own words (a host, a path).
        err.print(f"[red]error:[/red] database: {error.detail}", highlight=False)
        raise typer.Exit(1) from None
    except (UserError, FleetwardError) as error:
        message = error.message if isinstance(error, FleetwardError) else str(error)
        err.print(f"[red]error:[/red] {message}", highlight=False)
        raise typer.Exit(1) from None
