"""Install a Debian package a test needs, when it is missing.

:func:`ensure_debian_package` looks for a program and, when it is not on the
``PATH``, runs ``apt-get install -y PACKAGE`` (and, if that fails, ``apt-get
update`` followed by a second attempt).  :func:`require_debian_package` turns
a failure into a skip with the reason, except under ``CI=true`` where a
missing tool fails the test.  Installing needs root; without it the helpers
simply report that the program is missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

__all__ = ["ensure_debian_package", "require_debian_package"]

#: Seconds one apt-get command may take.
APT_TIMEOUT = 900


def _apt(*args: str) -> bool:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        done = subprocess.run(
            ["apt-get", *args], capture_output=True, timeout=APT_TIMEOUT, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _which(binary: str) -> str | None:
    if "/" in binary:
        matches = sorted(glob.glob(binary))
        return matches[0] if matches else None
    found = shutil.which(binary)
    if found is None:
        for directory in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            candidate = os.path.join(directory, binary)
            if os.access(candidate, os.X_OK):
                return candidate
    return found


def ensure_debian_package(package: str, binary: str) -> str | None:
    """The path of ``binary``, installing the Debian ``package`` when it is missing.

    Args:
        package: the Debian package providing the program.
        binary: the program's file name, or an absolute path (glob patterns
            allowed) of a file the package installs, for packages without a
            program (libraries).

    Returns:
        The program's (or file's) path, or None when it is missing and could not be
        installed (no apt-get, not root, no network ...).
    """
    found = _which(binary)
    if found is not None:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None
    if not _apt("install", "-y", "--no-install-recommends", package):
        _apt("update")
        _apt("install", "-y", "--no-install-recommends", package)
    return _which(binary)


def require_debian_package(package: str, binary: str) -> str:
    """Like :func:`ensure_debian_package`, but skip (or fail under ``CI=true``) without it.

    Args:
        package: the Debian package providing the program.
        binary: the program's file name.

    Returns:
        The program's path.

    Raises:
        twisted.trial.unittest.SkipTest: the program is missing (not on CI).
        twisted.trial.unittest.FailTest: the program is missing on CI.
    """
    from twisted.trial.unittest import FailTest, SkipTest

    found = ensure_debian_package(package, binary)
    if found is not None:
        return found
    reason = f"{binary} (Debian package {package}) is not installed and could not be installed"
    print(f"skipping: {reason}")
    if os.environ.get("CI") == "true":
        raise FailTest(reason)
    raise SkipTest(reason)
