#!/usr/bin/env bash
# System tools the sandboxes need: bubblewrap (namespaces for untrusted code), git and patch
# (the patch fallback chain), g++ (C++ programs); chromium for the HTML audit site's browser
# tests; docker-registry (a real registry on 127.0.0.1 for the `monkeys images pull` tests).
# Installs what is missing with apt (root only).
set -euo pipefail
missing=()
for tool in bwrap:bubblewrap git:git patch:patch g++:g++ chromium:chromium docker-registry:docker-registry; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [[ " ${missing[*]} " == *" chromium "* ]]; then
  missing+=(fonts-dejavu-core)  # a font, so the browser tests' screenshots show text
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup_system: missing ${missing[*]}; install them (e.g. sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "setup_system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
