"""Run Fleetward as an unprivileged account, for tests where file permissions must hold.

Root ignores file permissions, so a test that makes the database read-only runs
the server as another account when the suite runs as root. That account must
be able to run Python with our packages: this interpreter when it can reach
it, else the system's Python of the same version with this environment's
packages on its path (an interpreter under /root, as pyenv installs it, is out
of an unprivileged account's reach). When no account can reach the checkout
(a clone inside a 0700 directory), the server runs as root without the two
capabilities that let root ignore permissions (setpriv drops CAP_DAC_OVERRIDE
and CAP_DAC_READ_SEARCH), so the owner's permission bits bind it like anyone.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import fleetward

SOURCE = str(Path(fleetward.__file__).resolve().parents[1])
ACCOUNTS = ("postgres", "nobody")


@dataclass(frozen=True)
class Account:
    """Whom to run as (None: whoever runs the tests, when that is not root, or root
    bound by file permissions through setpriv) and how."""

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
    return _root_bound_by_permissions()


# setpriv (util-linux) runs a program without root's permission overrides.
_WITHOUT_OVERRIDES = (
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
)


def _root_bound_by_permissions() -> Account | None:
    """Root that file permissions stop, proven on a read-only file; None without setpriv."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    python = (setpriv, *_WITHOUT_OVERRIDES, sys.executable)
    env = {"PYTHONPATH": os.pathsep.join(p for p in [SOURCE, os.environ.get("PYTHONPATH")] if p)}
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / "read-only"
        probe.write_text("")
        probe.chmod(0o444)
        check = f"import fleetward.entrypoints.cli, uvicorn; open({str(probe)!r}, 'a')"
        done = subprocess.run(
            [*python, "-c", check],
            env={**os.environ, **env},
            capture_output=True,
            timeout=60,
            check=False,
        )
    refused = done.returncode != 0 and b"PermissionError" in done.stderr
    return Account(None, os.getuid(), os.getgid(), python, env) if refused else None
