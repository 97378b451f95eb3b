#!/usr/bin/env bash
# Debian packages the tests and the demo use, installed non-interactively (idempotent; run as root):
#  - postfix + libsasl2-modules: the real-Postfix end-to-end test. Debconf is preseeded with "No configuration":
#    the package must not configure or start a system-wide Postfix; the tests start instances of their own.
#  - chromium: the browser test of the manual-mode confirmation page.
#  - shellcheck: lints the Postfix document's script.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-packages.sh: must run as root (apt-get install)" >&2
    exit 1
fi
packages=(postfix libsasl2-modules chromium shellcheck ca-certificates)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system-packages.sh: all present (${packages[*]})"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-system-packages.sh: installed ${missing[*]}"
