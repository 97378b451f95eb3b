#!/usr/bin/env bash
# Debian packages the tests and the demo use: Postfix with its SASL modules, and Chromium for the browser test.
# Non-interactive and idempotent. Run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends postfix libsasl2-modules chromium >/dev/null
echo "installed: $(dpkg-query -W -f='${Package} ${Version}, ' postfix libsasl2-modules chromium)"
