#!/usr/bin/env bash
# Install the real components the tests drive (PostgreSQL, Chromium, Prometheus
# Alertmanager) when they are missing. Only possible as root on Debian;
# otherwise say what is missing and let the tests report it (they fail under
# CI=true, skip elsewhere).
set -euo pipefail

need=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Debian's package installs /usr/bin/prometheus-alertmanager; its service may
# fail to start in a container, which does not matter: the tests run their own.
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)

if [ "${#need[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing for the tests: ${need[*]} (install them, e.g. apt-get install ${need[*]})" >&2
    exit 0
fi
echo "installing ${need[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
