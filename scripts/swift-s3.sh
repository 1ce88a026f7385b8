#!/usr/bin/env bash
# Starts a throwaway OpenStack Swift with its S3 layer (s3api) on loopback, for the scale-out tests.
# Swift verifies SigV4 signatures, so a tampered or expired presigned URL is really refused.
# Usage: scripts/swift-s3.sh start|stop   (state under ${SWIFT_DIR:-/tmp/easel-swift})
# Prints nothing on success except the endpoint; credentials are test:tester / testing.
set -euo pipefail
S=${SWIFT_DIR:-/tmp/easel-swift}
PORT=${SWIFT_PORT:-18380}
MEMCACHED_PORT=${SWIFT_MEMCACHED_PORT:-11299}

stop() {
  if [ -f "$S/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$S/pids"
    rm -f "$S/pids"
  fi
}

if [ "${1:-start}" = "stop" ]; then stop; exit 0; fi

if curl -fsS "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1; then
  echo "http://127.0.0.1:$PORT"
  exit 0
fi

stop
rm -rf "$S" && mkdir -p "$S/etc" "$S/srv/d1" "$S/run" "$S/log"
cp /etc/swift/swift.conf "$S/etc/swift.conf" 2>/dev/null || cat > "$S/etc/swift.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = easel-test
swift_hash_path_prefix = easel-test
[storage-policy:0]
name = Policy-0
default = yes
CONF

cd "$S/etc"
for spec in account:6312 container:6311 object:6310; do
  n=${spec%%:*}; p=${spec##*:}
  swift-ring-builder "$n.builder" create 0 1 1 >/dev/null
  swift-ring-builder "$n.builder" add "r1z1-127.0.0.1:$p/d1" 1 >/dev/null
  swift-ring-builder "$n.builder" rebalance >/dev/null || true
  cat > "$n-server.conf" <<CONF
[DEFAULT]
devices = $S/srv
mount_check = false
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
user = root
swift_dir = $S/etc
log_facility = LOG_LOCAL2
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
CONF
done

cat > proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
user = root
swift_dir = $S/etc
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -u root >"$S/log/memcached.log" 2>&1 &
echo $! >> "$S/pids"
for n in account container object proxy; do
  "swift-$n-server" "$S/etc/$n-server.conf" >"$S/log/$n.log" 2>&1 &
  echo $! >> "$S/pids"
done

for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1; then
    echo "http://127.0.0.1:$PORT"
    exit 0
  fi
  sleep 0.5
done
echo "swift did not become healthy; logs in $S/log" >&2
tail -n 20 "$S"/log/*.log >&2 || true
exit 1
