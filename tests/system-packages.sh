#!/bin/sh
# The Debian packages whose programs the tests start for real, in one place for `make test` and `.ci/run`.
#
#   tests/system-packages.sh              install the missing ones (root, Debian or Ubuntu with apt-get)
#   tests/system-packages.sh --if-root    the same where that is possible, else nothing (make test)
#   tests/system-packages.sh --missing    print the missing ones, one a line (the test run's summary)
#
# python3-venv, make: what `make test` itself needs. postgresql: the tests start their own server from its
# binaries (tests/support/postgres.py). chromium: headless page tests. fusioninventory-agent,
# ocsinventory-agent: unmodified peer agents for interop and the footprint benchmark. systemd: systemd-analyze
# for the agent's units. openssl: the test CA. openssh-server: a real sshd on a loopback port for the SSH
# prober and the Ansible roles (started by the tests, never as a system service). nginx-light: the TLS
# terminator in front of the collector. iproute2: `ip`, which the SSH prober reads addresses with. snmpd: a
# real SNMP agent for the SNMP prober. prometheus: promtool and a server the tests start on a loopback port,
# without recommends (no node exporter).
set -eu

PACKAGES="python3-venv make postgresql chromium fusioninventory-agent ocsinventory-agent systemd openssl
openssh-server nginx-light iproute2 snmpd"
NO_RECOMMENDS="prometheus"

missing() {
    for pkg in $PACKAGES $NO_RECOMMENDS; do
        dpkg-query -W -f '${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || echo "$pkg"
    done
}

only() {
    # The missing packages among the ones named after the first argument's list.
    wanted=$1
    shift
    for pkg in "$@"; do
        case " $(echo $wanted) " in *" $pkg "*) echo "$pkg" ;; esac
    done
}

install() {
    need=$(missing)
    [ -n "$need" ] || return 0
    echo "Installing the system packages the tests start for real: $(echo $need)"
    plain=$(only "$PACKAGES" $need)
    bare=$(only "$NO_RECOMMENDS" $need)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq &&
        { [ -z "$plain" ] || apt-get install -y -qq $plain >/dev/null; } &&
        { [ -z "$bare" ] || apt-get install -y -qq --no-install-recommends $bare >/dev/null; }
}

can_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1
}

case "${1:-}" in
    --missing)
        command -v dpkg-query >/dev/null 2>&1 || { echo "$0: not a Debian or Ubuntu machine (no dpkg-query)" >&2; exit 2; }
        missing ;;
    --if-root)
        # A package this release lacks must not stop the run: the run names what is still missing.
        if can_install; then
            install || echo "$0: apt-get could not install them all; their tests will skip" >&2
        fi ;;
    "")
        can_install || { echo "$0: installing needs root on Debian or Ubuntu (apt-get); run it as root" >&2; exit 1; }
        install || { echo "$0: apt-get could not install them all" >&2; exit 1; } ;;
    *)
        echo "usage: $0 [--missing | --if-root]" >&2
        exit 2 ;;
esac
