#!/usr/bin/env bash
# Installs Debian's chromium for the browser page's end-to-end test (web/e2e_test.ts), which is
# skipped with a message when /usr/bin/chromium is missing — except with CI=true, where a failing
# test names it (src/prerequisite.ts). Always exits 0: the test run reports the missing package.
set -u

if [ -x /usr/bin/chromium ]; then
  echo "ci: chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != "0" ]; then
  echo "ci: cannot install chromium (needs apt-get as root); the browser test will be skipped"
  exit 0
fi
echo "ci: apt-get install chromium"
if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
  >/tmp/vessel-seg-chromium.log 2>&1; then
  echo "ci: chromium installed ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
else
  echo "ci: apt-get install chromium failed (see /tmp/vessel-seg-chromium.log); the browser test will be skipped"
fi
exit 0
