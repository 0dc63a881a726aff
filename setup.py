"""Packaging for mongoose.

``twisted/plugins`` must not get an ``__init__.py``: it is a directory that
Twisted's plugin loader finds on every ``sys.path`` entry.  It is installed as
package data of the ``twisted`` namespace so ``twistd mongooseim`` works after
a plain ``pip install .``; an editable install (``pip install -e .`` with
``editable_mode=compat``) puts the checkout itself on ``sys.path``.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["mongoose", "mongoose.*"]) + ["twisted.plugins"],
    package_data={
        "twisted": ["plugins/mongooseim_plugin.py"],
        "mongoose": ["py.typed"],
        "mongoose.storage.sql": ["schema/*.sql"],
    },
)
