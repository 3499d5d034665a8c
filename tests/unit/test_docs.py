"""Docs that tests keep honest: whatever a page names (a setting, a command and its
flags, an API route, a dashboard page, a make target) must exist."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleetward.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# Backticked paths that name files on a machine, not the server's routes.
FILE_ROOTS = ("/etc/", "/proc/", "/var/", "/usr/", "/tmp/", "/opt/", "/home/", "/dev/")


def _cli_options() -> tuple[set[str], set[str]]:
    """Every --flag of every `fleetward` command, and the variables they read."""
    import click
    import typer

    from fleetward.entrypoints.cli import app

    flags: set[str] = set()
    variables: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            flags.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
            envvar = getattr(param, "envvar", None)
            variables.update([envvar] if isinstance(envvar, str) else envvar or [])
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return flags, variables


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    from fleetward.bootstrap import build
    from fleetward.entrypoints.http.app import create_app

    with tempfile.TemporaryDirectory() as data_dir:
        container = build(Settings(database_url="sqlite://", data_dir=Path(data_dir)))
        try:
            yield create_app(container)
        finally:
            container.close()


@pytest.fixture(scope="module")
def served_paths(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every API route, `{name}` placeholders as `{}`."""
    from fastapi.routing import APIRoute, APIWebSocketRoute

    return {
        (method, re.sub(r"\{[^}]*\}", "{}", route.path))
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    } | {("GET", route.path) for route in app.routes if isinstance(route, APIWebSocketRoute)}


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
    for page in PAGES:
        for method, path in re.findall(
            r"`(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`\s?]*)", page.read_text()
        ):
            found.add((method, re.sub(r"\{[^}]*\}", "{}", path)))
    return found


def test_every_documented_api_route_exists(served_paths: set[tuple[str, str]]) -> None:
    assert _documented_api_paths() - served_paths == set()


def test_every_documented_page_and_path_exists(app: FastAPI) -> None:
    """A path written alone (`/logout`, `/api/v1/timeline`) or as a link to the local
    server (http://127.0.0.1:8080/login) is one the app answers: asked without
    credentials, by GET, it may send to the login page, refuse or want another
    method, but not answer 404."""
    client = TestClient(app, follow_redirects=False)
    missing = []
    for page in PAGES:
        text = page.read_text()
        written = re.findall(r"`(/[^`\s?]*)`", text)
        written += re.findall(r"http://127\.0\.0\.1:8080(/[^\s`)?:]*)", text)
        for path in (w.rstrip(".,;") for w in written):
            if path.startswith(FILE_ROOTS):
                continue
            asked = re.sub(r"\{[^}]*\}", str(uuid.uuid4()), path)
            if client.get(asked).status_code == 404:
                missing.append(f"{page.name}: {path}")
    assert missing == []


def test_every_documented_make_target_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    written = re.compile(r"(?:`|^)make ([a-z][a-z-]*)", re.M)
    missing = [
        f"{page.name}: make {target}"
        for page in PAGES
        for target in written.findall(page.read_text())
        if target not in targets
    ]
    assert missing == []


def test_every_documented_variable_and_flag_exists() -> None:
    """A `FLEETWARD_*` name anywhere in the docs is a setting or a variable a command
    reads; a `--flag` written in inline code is an option of some `fleetward` command."""
    flags, variables = _cli_options()
    known = {f"FLEETWARD_{name.upper()}" for name in Settings.model_fields} | variables
    # ... or one the project's scripts read (the test runner's worker count).
    for script in sorted((ROOT / "scripts").glob("*.sh")):
        known |= set(re.findall(r"\bFLEETWARD_[A-Z0-9_]*[A-Z0-9]\b", script.read_text()))
    missing = []
    for page in PAGES:
        text = page.read_text()
        for name in re.findall(r"\bFLEETWARD_[A-Z0-9_]*[A-Z0-9]\b", text):
            if name not in known:
                missing.append(f"{page.name}: {name}")
        for code in re.findall(r"`([^`]*)`", text):
            if not (code.startswith("--") or code.startswith("fleetward ")):
                continue  # other tools' flags (pip, pytest) are theirs to keep
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", code):
                if flag not in flags:
                    missing.append(f"{page.name}: {flag}")
    assert missing == []


def test_every_documented_command_exists() -> None:
    """`fleetward WORD [WORD]` in the docs names a command the CLI has."""
    import typer

    from fleetward.entrypoints.cli import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    # In inline code, or at the start of a line of a shell block.
    written = re.compile(r"(?:`|^)fleetward ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", re.M)
    missing = []
    for page in PAGES:
        for first, second in written.findall(page.read_text()):
            command = commands.get(first)
            subcommands = getattr(command, "commands", None)
            if command is None:
                missing.append(f"{page.name}: fleetward {first}")
            elif subcommands is not None and second and second not in subcommands:
                missing.append(f"{page.name}: fleetward {first} {second}")
    assert missing == []


def test_every_file_a_page_names_is_in_the_repository() -> None:
    """`x.md`, a link, or `src/...`, `tests/...` in inline code: found beside the page,
    under docs/ or from the checkout's root; nothing points outside the repository."""
    missing = []
    for page in PAGES:
        text = page.read_text()
        named = re.findall(r"[\w./-]*\w\.md\b", text)
        named += re.findall(r"\]\((?![a-z]+:)([^)#\s]+)", text)  # relative links, not URLs
        named += re.findall(r"`((?:src|tests|docs|bench|scripts)/[^`\s]*)`", text)
        for name in named:
            if not any((base / name).exists() for base in (page.parent, ROOT / "docs", ROOT)):
                missing.append(f"{page.name}: {name}")
    assert missing == []
