#!/usr/bin/env bash
# tools/ceph-rgw.sh: a throwaway single-node Ceph cluster (mon + memstore OSD + radosgw) that
# speaks S3 on 127.0.0.1, with auth disabled, for the storage tests. Adapted from the recipe in
# ../shared/scripts/ceph-rgw-start.sh. Ceph RGW is used because it honours conditional PUTs
# (If-None-Match: *, If-Match), which the npm S3 mocks do not.
#
#   tools/ceph-rgw.sh install          apt packages radosgw ceph-mon ceph-osd (needs root)
#   tools/ceph-rgw.sh start [DIR]      wipe DIR (default /tmp/tilelog-ceph), start, print the endpoint
#   tools/ceph-rgw.sh stop [DIR]       stop the daemons started from DIR
#
# Endpoint http://127.0.0.1:${CEPH_RGW_PORT:-7480}, path-style, region us-east-1, keys test/testsecret.
# Objects live in memory (memstore), so nothing survives a stop.
set -euo pipefail
cmd=${1:-}
D=${2:-/tmp/tilelog-ceph}
PORT=${CEPH_RGW_PORT:-7480}
MON_PORT=${CEPH_MON_PORT:-6789}

install() {
  command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && return
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl >/dev/null; }
}

stop() {
  [ -d "$D/run" ] || return 0
  for f in "$D"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

start() {
  stop
  rm -rf "$D"
  mkdir -p "$D/mon" "$D/osd0" "$D/run" "$D/log" "$D/rgw"
  local fsid osd_uuid id C
  fsid=$(uuidgen)
  cat > "$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
ms bind ipv6 = false
public addr = 127.0.0.1
[mon]
mon data = $D/mon
[osd]
osd data = $D/osd\$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 460
osd max object namespace len = 64
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
rgw dns name = localhost
CONF
  C=(-c "$D/ceph.conf")
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "v1:127.0.0.1:$MON_PORT" --fsid "$fsid" "$D/monmap" >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
  ceph-mon "${C[@]}" -i a
  for _ in $(seq 30); do ceph "${C[@]}" -s >/dev/null 2>&1 && break; sleep 1; done
  osd_uuid=$(uuidgen)
  id=$(ceph "${C[@]}" osd new "$osd_uuid")
  ceph-osd "${C[@]}" -i "$id" --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  ceph "${C[@]}" osd crush add-bucket localhost host >/dev/null 2>&1 || true
  ceph "${C[@]}" osd crush move localhost root=default >/dev/null 2>&1 || true
  ceph "${C[@]}" osd crush add "osd.$id" 1.0 host=localhost >/dev/null 2>&1 || true
  ceph-osd "${C[@]}" -i "$id"
  for _ in $(seq 60); do ceph "${C[@]}" osd stat 2>/dev/null | grep -q '1 up' && break; sleep 1; done
  radosgw "${C[@]}" -n client.rgw
  for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 1; done
  radosgw-admin "${C[@]}" user create --uid=test --display-name=test --access-key=test --secret=testsecret >/dev/null
  echo "http://127.0.0.1:$PORT"
}

case "$cmd" in
  install) install ;;
  start) install; start ;;
  stop) stop ;;
  *) echo "usage: $0 install | start [DIR] | stop [DIR]" >&2; exit 2 ;;
esac
