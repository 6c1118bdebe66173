#!/usr/bin/env bash
# Checks and unit-tests the Prometheus rules: `promtool check config|rules` and `promtool test rules`.
# promtool comes with Debian's `prometheus` package; when it is missing it is installed here,
# with service start-up blocked (policy-rc.d) so that no Prometheus server is left running.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v promtool >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "promtool not found and apt-get unavailable: install Prometheus' promtool" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "promtool not found: installing Debian's prometheus package" >&2
  # Refuse service starts during the install (exit 101 = action forbidden), then restore.
  policy=/usr/sbin/policy-rc.d
  created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created_policy=1
  fi
  cleanup() { if [ -n "$created_policy" ]; then $sudo rm -f "$policy"; fi; }
  trap cleanup EXIT
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # Belt and braces: on a host with systemd, make sure the packaged server is neither running nor enabled.
  if command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable prometheus >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then $sudo systemctl stop prometheus >/dev/null 2>&1 || true; fi
  fi
  cleanup
  trap - EXIT
fi

cd "$here"
promtool check config prometheus.yml
promtool check rules rules/*.yml
promtool test rules tests/*.yml
