"""The data directory and the files in it are the server's alone.

It holds the database (password hashes, sealed secrets, every tenant's data)
and the key that opens the secrets, so other local users get no access:
directories are made 0700, files 0600, whatever the process umask says.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Make `path` (and missing parents) as 0700. One that exists is left as it is:
    its owner may have chosen its mode."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        # mkdir's mode is masked by the umask; chmod is not.
        with contextlib.suppress(FileNotFoundError):
            folder.chmod(DIR_MODE)


def make_private_file(path: Path) -> None:
    """Create `path` empty as 0600 if it does not exist yet.

    SQLite gives its -wal and -shm files the database file's mode, so creating
    the database file this way before SQLite opens it covers all three.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
