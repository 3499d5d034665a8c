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
