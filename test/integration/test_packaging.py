"""The twistd plugin is found after a plain ``pip install .`` and an editable install.

``twisted.plugins`` is found through ``sys.path``, so packaging it takes care:
the plain install builds a wheel of this checkout and installs it, without its
dependencies, into a fresh virtual environment whose only other path entry is
the test environment's site-packages (for Twisted and friends).
"""

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import venv

from twisted.trial.unittest import SynchronousTestCase

from test.support.processes import REPO, bin_path


def run(args, cwd, **kwargs):
    """Run a command, returning CompletedProcess with text output."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)


class PlainInstallTests(SynchronousTestCase):
    """pip install . into a fresh virtual environment."""

    def setUp(self):
        self.tmp = os.path.abspath(self.mktemp())
        os.makedirs(self.tmp)
        source = os.path.join(self.tmp, "src")
        # Build from a copy: building in place would leave build/ in the checkout.
        shutil.copytree(
            REPO,
            source,
            ignore=shutil.ignore_patterns(
                ".venv", ".git", "_trial_temp*", "data", "build", "*.egg-info", "__pycache__"
            ),
        )
        wheels = os.path.join(self.tmp, "wheels")
        built = run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "-w", wheels, source],
            cwd=self.tmp,
        )
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
        self.env_dir = os.path.join(self.tmp, "fresh")
        venv.create(self.env_dir, with_pip=False)
        self.python = os.path.join(self.env_dir, "bin", "python")
        installed = run(
            [sys.executable, "-m", "pip", "--python", self.python, "install", "--no-deps",
             *glob.glob(os.path.join(wheels, "*.whl"))],
            cwd=self.tmp,
        )
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        site = run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=self.tmp,
        ).stdout.strip()
        self.site = site
        with open(os.path.join(site, "deps.pth"), "w") as f:
            f.write(sysconfig.get_paths()["purelib"] + "\n")

    def twistd(self, *args):
        """Run twistd with the fresh environment's interpreter, outside the checkout."""
        return run(
            [self.python, "-c", "from twisted.scripts.twistd import run; run()", *args],
            cwd=self.tmp,
        )

    def test_plugin_found(self):
        """twistd lists mongooseim and its --help works, from the installed copy."""
        listed = self.twistd("--help")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("mongooseim", listed.stdout)
        helped = self.twistd("mongooseim", "--help")
        self.assertEqual(helped.returncode, 0, helped.stderr)
        self.assertIn("--config", helped.stdout)
        where = run(
            [self.python, "-c", "import mongoose; print(mongoose.__file__)"], cwd=self.tmp
        ).stdout
        self.assertTrue(where.startswith(self.env_dir), where)

    def test_package_data_installed(self):
        """Schema migrations ship inside the installed package."""
        migrations = glob.glob(os.path.join(self.site, "mongoose", "storage", "sql", "schema", "*.sql"))
        self.assertTrue(migrations, "no migration files installed")
        self.assertTrue(os.path.exists(os.path.join(self.site, "twisted", "plugins",
                                                    "mongooseim_plugin.py")))


class EditableInstallTests(SynchronousTestCase):
    """The development environment (make install: pip install -e, compat mode)."""

    def test_plugin_found_outside_checkout(self):
        """twistd from the test environment finds the plugin from any working directory."""
        elsewhere = os.path.abspath(self.mktemp())
        os.makedirs(elsewhere)
        listed = run([bin_path("twistd"), "--help"], cwd=elsewhere)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("mongooseim", listed.stdout)
