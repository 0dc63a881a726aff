"""Module and service classes for tests, shaped like third-party extensions."""

from zope.interface import implementer, provider

from mongoose.config.schema import Field, Int, Section, Str
from mongoose.interfaces import IGlobalService, IModule, IModuleFactory, IServiceFactory

__all__ = ["make_module_class", "make_service_class"]


class _Command:
    """Just enough of a Command for registries in tests."""

    def __init__(self, category, name):
        self.category = category
        self.name = name


def make_module_class(name, dependencies=(), fail_stop=False, start_result=None):
    """A new IModule class recording its starts and stops in ``events``.

    Each instance registers a "ping" hook, a command and a disco feature on start.
    """

    @provider(IModuleFactory)
    @implementer(IModule)
    class FakeModule:
        options_spec = Section(
            {
                "greeting": Field(Str(), default="hello", doc="What the module says."),
                "times": Field(Int(min=1), default=1, doc="How often."),
            }
        )
        events: list = []

        def start(self, ctx):
            self.ctx = ctx
            type(self).events.append(("start", ctx.host, ctx.options))
            ctx.hook("ping", lambda *a: None)
            ctx.add_command(_Command("test", f"{name}_{ctx.host}"))
            ctx.add_feature(f"urn:test:{name}")
            return start_result

        def stop(self):
            type(self).events.append(("stop", self.ctx.host, None))
            if fail_stop:
                raise RuntimeError("stop failed")

    FakeModule.name = name
    FakeModule.dependencies = tuple(dependencies)
    FakeModule.events = []
    FakeModule.__name__ = f"FakeModule_{name}"
    return FakeModule


def make_service_class(name):
    """A new IGlobalService class recording its starts and stops in ``events``."""

    @provider(IServiceFactory)
    @implementer(IGlobalService)
    class FakeService:
        options_spec = Section({"level": Field(Int(), default=3, doc="A number.")})
        events: list = []

        def start(self, ctx):
            type(self).events.append(("start", tuple(ctx.hosts), ctx.options))

        def stop(self):
            type(self).events.append(("stop", None, None))

    FakeService.name = name
    FakeService.events = []
    return FakeService
