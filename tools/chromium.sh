#!/usr/bin/env bash
# tools/chromium.sh: Debian's chromium for the explorer's browser tests (test/explorer), driven by
# playwright-core. Playwright's own browser download does not work on these machines.
#
#   tools/chromium.sh install    apt package chromium, if /usr/bin/chromium is missing (needs root)
set -euo pipefail
case ${1:-} in
  install)
    [ -x /usr/bin/chromium ] && exit 0
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
    ;;
  *)
    echo "usage: tools/chromium.sh install" >&2
    exit 2
    ;;
esac
