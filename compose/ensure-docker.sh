#!/usr/bin/env bash
# Make a Docker engine reachable for the docker test tier and the demo, where that can be done safely:
# - an engine that already answers is used as it is;
# - on a machine without systemd (containers, CI sandboxes), as root, Debian's docker.io and debootstrap are
#   installed if missing and dockerd is started with host networking only (no bridge, no iptables);
# - anywhere else nothing is changed and the reason is printed (the docker tier then skips, saying why).
# Never fails: callers decide what a missing engine means.
set -u
log=${EVALCLIENT_DOCKERD_LOG:-/tmp/evalclient-dockerd.log}

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: no Docker engine answers and this is not root; start it yourself (e.g. sudo systemctl start docker)"
  exit 0
fi
if [ -d /run/systemd/system ]; then
  echo "ensure-docker: no Docker engine answers; start the system's one: systemctl start docker"
  exit 0
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})) && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-docker: installing ${missing[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: dockerd is not installed and could not be installed"
  exit 0
fi

echo "ensure-docker: starting dockerd (log: $log)"
nohup dockerd --bridge=none --iptables=false --ip-masq=false >"$log" 2>&1 &
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "ensure-docker: dockerd did not answer within 60 s; last log lines:"
tail -n 20 "$log"
exit 0
