"""Install a fake third-party distribution with mongoose entry points, for tests.

The distribution lives in a temporary directory put on ``sys.path``: a real
``*.dist-info`` with ``entry_points.txt``, found by importlib.metadata exactly
as a pip-installed plugin would be.
"""

import os
import sys
import textwrap

__all__ = ["install_fake_distribution"]

_MODULE_SOURCE = '''
"""A third-party mongoose extension (test fixture)."""
from zope.interface import implementer, provider

from mongoose.config.schema import Field, Int, Section, Str
from mongoose.interfaces import IGlobalService, IModule, IModuleFactory, IServiceFactory

STARTED = []


@provider(IModuleFactory)
@implementer(IModule)
class HelloModule:
    name = "mod_hello"
    dependencies = ()
    options_spec = Section({"greeting": Field(Str(nonempty=True), default="hello", doc="Greeting.")})

    def start(self, ctx):
        self.host = ctx.host
        STARTED.append(("mod_hello", ctx.host, ctx.options["greeting"]))
        ctx.hook("hello", lambda *args: None)

    def stop(self):
        STARTED.append(("mod_hello stopped", self.host, None))


@provider(IServiceFactory)
@implementer(IGlobalService)
class HelloService:
    name = "service_hello"
    options_spec = Section({"level": Field(Int(min=0), default=1, doc="Level.")})

    def start(self, ctx):
        STARTED.append(("service_hello", tuple(ctx.hosts), ctx.options["level"]))

    def stop(self):
        STARTED.append(("service_hello stopped", None, None))
'''


def install_fake_distribution(testcase, package="mongoose_hello_ext"):
    """Create the distribution under the test's temp dir and put it on sys.path.

    Returns the imported fixture module (its ``STARTED`` list records events).
    The path is removed again when the test ends.
    """
    root = os.path.abspath(testcase.mktemp())
    os.makedirs(os.path.join(root, package))
    with open(os.path.join(root, package, "__init__.py"), "w") as f:
        f.write(_MODULE_SOURCE)
    info = os.path.join(root, f"{package}-1.0.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    with open(os.path.join(info, "entry_points.txt"), "w") as f:
        f.write(
            textwrap.dedent(
                f"""\
                [mongoose.modules]
                mod_hello = {package}:HelloModule

                [mongoose.services]
                service_hello = {package}:HelloService
                """
            )
        )
    sys.path.insert(0, root)

    def cleanup():
        sys.path.remove(root)
        sys.modules.pop(package, None)

    testcase.addCleanup(cleanup)
    __import__(package)
    return sys.modules[package]
