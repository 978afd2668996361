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
name=alertmanager
# shellcheck source=deploy/local/prom-service.sh
source "$(dirname "${BASH_SOURCE[0]}")/prom-service.sh"

binary() { command -v prometheus-alertmanager || command -v alertmanager || true; }

install() {
  if [[ -z "$(binary)" ]]; then
    echo "alertmanager.sh: installing prometheus-alertmanager from Debian" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null
  fi
}

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
  wait_ready "$run_dir/alertmanager.log" "Alertmanager $("$(binary)" --version 2>&1 | head -1 | awk '{print $3}')"
}

dispatch "$@"
