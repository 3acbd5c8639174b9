#!/usr/bin/env bash
# tools/softhsm.sh: SoftHSM2, a PKCS#11 token in files, for the PKCS#11 tests.
#
#   tools/softhsm.sh install             apt package softhsm2 (needs root)
#   tools/softhsm.sh init DIR LABEL PIN  a config in DIR whose tokens live in DIR/tokens, and a
#                                        token LABEL with user PIN PIN; prints the config's path
#
# The module is /usr/lib/softhsm/libsofthsm2.so; point SOFTHSM2_CONF at the printed config.
set -euo pipefail
MODULE=/usr/lib/softhsm/libsofthsm2.so

install() {
  [ -f "$MODULE" ] && command -v softhsm2-util >/dev/null && return
  export DEBIAN_FRONTEND=noninteractive
  # Another apt may be running on a shared machine: wait for its lock rather than fail.
  local apt=(apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends softhsm2)
  "${apt[@]}" >/dev/null 2>&1 || { apt-get -o DPkg::Lock::Timeout=600 update >/dev/null && "${apt[@]}" >/dev/null; }
}

init() {
  local dir=$1 label=$2 pin=$3
  mkdir -p "$dir/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$dir" >"$dir/softhsm2.conf"
  SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label "$label" \
    --pin "$pin" --so-pin "$pin$pin" >/dev/null
  echo "$dir/softhsm2.conf"
}

case "${1:-}" in
  install) install ;;
  init) init "$2" "$3" "$4" ;;
  *) echo "usage: $0 install | init DIR LABEL PIN" >&2; exit 2 ;;
esac
