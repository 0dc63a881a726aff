#!/bin/sh
# Install the Debian packages the third-party interoperability tests use, when
# they are missing and we may (root with apt-get): go-sendxmpp (a Go XMPP
# client), prosody and lua-unbound (a federation peer), chromium (GraphiQL and
# the JavaScript clients in a browser) and nodejs/npm.
# Installing here, before trial starts, keeps slow downloads out of the tests'
# own time limits. Without them the tests skip with a printed reason (and fail
# under CI=true).
missing=""
command -v go-sendxmpp >/dev/null 2>&1 || missing="$missing go-sendxmpp"
[ -x /usr/bin/prosody ] || missing="$missing prosody"
# Prosody resolves the test's private DNS server through libunbound.
dpkg -s lua-unbound >/dev/null 2>&1 || missing="$missing lua-unbound"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
# The JavaScript client tests run xmpp.js, strophe.js and playwright-core under node.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "not installing$missing (needs root and apt-get); those tests will skip"
    exit 0
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
        echo "apt-get could not install$missing; those tests will skip"
}
# The prosody package may start the system-wide server; the tests run private
# instances only, so stop it (it would hold the default ports).
if command -v prosodyctl >/dev/null 2>&1; then
    prosodyctl stop >/dev/null 2>&1 || true
fi
exit 0
