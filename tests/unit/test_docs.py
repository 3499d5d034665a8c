"""Docs that tests keep honest: the README's commands and the settings table."""

from __future__ import annotations

import re
from pathlib import Path

from fleetward.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_and_nothing_else() -> None:
    documented = set(
        re.findall(r"`FLEETWARD_([A-Z_]+)`", (ROOT / "docs/configuration.md").read_text())
    )
    declared = {name.upper() for name in Settings.model_fields}
    assert documented == declared


def test_readme_opens_with_the_two_commands_and_they_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    assert [b.strip() for b in blocks[:2]] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "bench", "lint"):
        assert re.search(rf"^{target}:", makefile, flags=re.M), target


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci/run").read_text()


def _documented_api_paths() -> set[tuple[str, str]]:
    """`METHOD /api/v1/...` pairs written in the docs, with `{name}` placeholders."""
    found: set[tuple[str, str]] = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for method, path in re.findall(
            r"`(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`\s?]*)", page.read_text()
        ):
            found.add((method, re.sub(r"\{[^}]*\}", "{}", path)))
    return found


def test_every_documented_api_route_exists() -> None:
    import tempfile

    from fastapi.routing import APIRoute, APIWebSocketRoute

    from fleetward.bootstrap import build
    from fleetward.entrypoints.http.app import create_app

    with tempfile.TemporaryDirectory() as data_dir:
        container = build(Settings(database_url="sqlite://", data_dir=Path(data_dir)))
        try:
            routes = create_app(container).routes
        finally:
            container.close()
    served = {
        (method, re.sub(r"\{[^}]*\}", "{}", route.path))
        for route in routes
        if isinstance(route, APIRoute)
        for method in route.methods
    } | {("GET", route.path) for route in routes if isinstance(route, APIWebSocketRoute)}
    assert _documented_api_paths() - served == set()


def test_every_documented_command_exists() -> None:
    """`fleetward WORD [WORD]` in the docs names a command the CLI has."""
    import typer

    from fleetward.entrypoints.cli import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    # In inline code, or at the start of a line of a shell block.
    written = re.compile(r"(?:`|^)fleetward ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", re.M)
    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for first, second in written.findall(page.read_text()):
            command = commands.get(first)
            subcommands = getattr(command, "commands", None)
            if command is None:
                missing.append(f"{page.name}: fleetward {first}")
            elif subcommands is not None and second and second not in subcommands:
                missing.append(f"{page.name}: fleetward {first} {second}")
    assert missing == []
