"""twistd plugin: ``twistd mongooseim -c /etc/mongooseim/mongooseim.toml``.

Kept tiny: Twisted imports every plugin module when it scans for plugins,
so the real work is in :mod:`mongoose.tap`, imported only when used.
"""

from twisted.application.service import ServiceMaker

mongooseim = ServiceMaker(
    "MongooseIM-compatible XMPP server",
    "mongoose.tap",
    "An XMPP server configured with a MongooseIM TOML file (see doc/configuration.md).",
    "mongooseim",
)
