#!/usr/bin/env bash
# deploy/local/alertmanager.sh - a Prometheus Alertmanager from Debian's prometheus-alertmanager package,
# for the receiver tests: install (idempotent), start on 127.0.0.1 with a throwaway config and storage,
# status, stop. systemd is not used: the binary is started directly, so it works in containers and CI.
#   bash deploy/local/alertmanager.sh install|start|status|stop
# VENDORWATCH_ALERTMANAGER_PORT (default 19093: Kafka's KRaft controller takes 9093) picks the port; state lives in a temp dir printed by start.
set -euo pipefail
port="${VENDORWATCH_ALERTMANAGER_PORT:-19093}"
run_dir="${TMPDIR:-/tmp}/vendorwatch-alertmanager-$port"
pid_file="$run_dir/pid"

binary() { command -v prometheus-alertmanager || command -v alertmanager || true; }

install() {
  if [[ -z "$(binary)" ]]; then
    echo "alertmanager.sh: installing prometheus-alertmanager from Debian" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null
  fi
}

running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

start() {
  install
  if running; then echo "alertmanager.sh: already running on 127.0.0.1:$port" >&2; return 0; fi
  mkdir -p "$run_dir/data"
  # One route to a receiver that notifies nobody: the tests read alerts back through the API.
  cat >"$run_dir/alertmanager.yml" <<YAML
route:
  receiver: nobody
  group_wait: 1s
receivers:
  - name: nobody
YAML
  "$(binary)" --config.file="$run_dir/alertmanager.yml" --storage.path="$run_dir/data" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address="" \
    >"$run_dir/alertmanager.log" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
      echo "alertmanager.sh: Alertmanager $("$(binary)" --version 2>&1 | head -1 | awk '{print $3}') ready on 127.0.0.1:$port (state $run_dir)" >&2
      return 0
    fi
    sleep 0.1
  done
  echo "alertmanager.sh: not ready in 10s; see $run_dir/alertmanager.log" >&2
  return 1
}

status() {
  if running && curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
    echo "alertmanager.sh: running as pid $(cat "$pid_file") on 127.0.0.1:$port"
  else
    echo "alertmanager.sh: not running on 127.0.0.1:$port"; return 1
  fi
}

stop() {
  if running; then kill "$(cat "$pid_file")"; fi
  rm -f "$pid_file"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
