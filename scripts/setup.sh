#!/usr/bin/env bash
# Installs the system packages Vigil builds against, only when they are missing; packages named
# as arguments are wanted too (a release build links libcurl, for Foundation's URLSession).
# Safe to run again; needs root (or sudo) only when something has to be installed.
set -euo pipefail

needed=()
for pkg in libpcre2-dev libsqlite3-dev pkg-config "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || needed+=("$pkg")
done
if [ ${#needed[@]} -gt 0 ]; then
    echo "setup: installing ${needed[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${needed[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 is required)" >&2; exit 1; }
