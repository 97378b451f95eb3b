#!/usr/bin/env bash
# Installs Postfix and its SASL modules from Debian's packages, non-interactively, for the end-to-end test.
# Debconf is preseeded with "No configuration": the package must not configure or start a system-wide
# Postfix; the test starts instances of its own (own config/queue/data directories).
# Idempotent: does nothing when postfix, postmap and the SASL modules are already installed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-postfix.sh: must run as root (apt-get install)" >&2
    exit 1
fi

if command -v postconf >/dev/null 2>&1 && command -v postmap >/dev/null 2>&1 \
    && dpkg-query -W -f='${Status}' libsasl2-modules 2>/dev/null | grep -q "install ok installed"; then
    echo "install-postfix.sh: postfix $(postconf -d -h mail_version) and libsasl2-modules already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections

apt-get update -qq
apt-get install -y -qq --no-install-recommends postfix libsasl2-modules ca-certificates >/dev/null

echo "install-postfix.sh: installed postfix $(postconf -d -h mail_version)"
