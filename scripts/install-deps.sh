#!/bin/sh
# Installs, as root on Debian 12, every package warren needs to build, run and
# test. Idempotent: it installs only what is missing, and touches apt only then.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
libuv1-dev liblmdb-dev lmdb-utils libcmocka-dev libyaml-dev libssl-dev
python3 python3-pytest python3-pika python3-kombu python3-yaml
librabbitmq-dev amqp-tools nodejs"

missing=""
for p in $PKGS; do
    # nodejs may come from elsewhere (a preinstalled node); accept any node binary.
    if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages:$missing (run as root to install them)" >&2
        exit 1
    fi
    echo "install-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi

# npm's amqplib for the interop tests (kept inside the tests folder).
if [ -f tests/interop/package.json ] && [ ! -d tests/interop/node_modules/amqplib ]; then
    if command -v npm >/dev/null 2>&1; then
        (cd tests/interop && npm install --no-audit --no-fund --silent)
    else
        echo "install-deps: npm not found; the amqplib interop test will be skipped" >&2
    fi
fi
exit 0
