"""The data directory and the files the server keeps in it are its own alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetward.bootstrap import build
from fleetward.config import Settings


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask many systems run services with: group and others may read."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_a_new_data_directory_is_0700_and_its_files_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "srv" / "fleetward"
    container = build(Settings(data_dir=data_dir), migrate_schema=True)
    try:
        container.identity.create_tenant("Acme")  # a write: WAL and SHM exist
        database = data_dir / "fleetward.db"
        made = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert all(path.exists() for path in made)
        assert {path.name: mode(path) for path in made} == {path.name: 0o600 for path in made}
        assert mode(data_dir / "secret.key") == 0o600
        assert mode(data_dir) == 0o700
        assert mode(data_dir.parent) == 0o700, "a missing parent is made private too"
    finally:
        container.close()


@pytest.mark.usefixtures("open_umask")
def test_an_existing_data_directory_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    data_dir.mkdir(mode=0o750)
    data_dir.chmod(0o750)
    container = build(Settings(data_dir=data_dir), migrate_schema=True)
    try:
        assert mode(data_dir) == 0o750
        assert mode(data_dir / "fleetward.db") == 0o600
    finally:
        container.close()
