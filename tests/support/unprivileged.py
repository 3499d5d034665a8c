"""Run Fleetward as an unprivileged account, for tests where file permissions must hold.

Root ignores file permissions, so a test that makes the database read-only runs
the server as another account when the suite runs as root. That account must
be able to run Python with our packages: this interpreter when it can reach
it, else the system's Python of the same version with this environment's
packages on its path (an interpreter under /root, as pyenv installs it, is out
of an unprivileged account's reach).
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import fleetward

SOURCE = str(Path(fleetward.__file__).resolve().parents[1])
ACCOUNTS = ("postgres", "nobody")


@dataclass(frozen=True)
class Account:
    """Whom to run as (None: whoever runs the tests, when that is not root) and how."""

    user: str | None
    uid: int
    gid: int
    python: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    def own(self, path: Path) -> None:
        """Hand a directory made by the test to the account."""
        if self.user is not None:
            os.chown(path, self.uid, self.gid)

    def popen_options(self) -> dict[str, object]:
        return {"user": self.uid, "group": self.gid} if self.user is not None else {}


def _runs(python: tuple[str, ...], entry: pwd.struct_passwd, env: dict[str, str]) -> bool:
    try:
        done = subprocess.run(
            [*python, "-c", "import fleetward.entrypoints.cli, uvicorn"],
            user=entry.pw_uid,
            group=entry.pw_gid,
            env={**os.environ, **env},
            capture_output=True,
            timeout=60,
            check=False,
            cwd="/",
        )
    except OSError:  # PermissionError: the interpreter is out of its reach
        return False
    return done.returncode == 0


@functools.cache
def unprivileged_account() -> Account | None:
    """An account file permissions apply to, able to run Fleetward; None if there is none."""
    if os.geteuid() != 0:
        return Account(None, os.getuid(), os.getgid(), (sys.executable,))
    for name in ACCOUNTS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        path = [SOURCE, os.environ.get("PYTHONPATH", "")]
        own_env = {"PYTHONPATH": os.pathsep.join(p for p in path if p)}
        if _runs((sys.executable,), entry, own_env):
            return Account(name, entry.pw_uid, entry.pw_gid, (sys.executable,), own_env)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        system_python = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
        if system_python is None:
            continue
        packages = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        env = {"PYTHONPATH": os.pathsep.join([SOURCE, *sorted(packages)])}
        # The system's Python must not pick its own copies of our dependencies.
        env["PYTHONNOUSERSITE"] = "1"
        if _runs((system_python,), entry, env):
            return Account(name, entry.pw_uid, entry.pw_gid, (system_python,), env)
    return None
