#!/usr/bin/env bash
# deploy/local/prometheus.sh - Prometheus and promtool from Debian's prometheus package (2.42 in bookworm),
# for the rule tests and a local look at the metrics: install (idempotent), start on 127.0.0.1 scraping a
# local worker (HTTP_PORT 6066) and dispatcher (6067) with the rules of deploy/prometheus/, status, stop.
# systemd is not used: the binary is started directly, so it works in containers and CI.
#   bash deploy/local/prometheus.sh install|start|status|stop
# VENDORWATCH_PROMETHEUS_PORT (default 9090) picks the port; VENDORWATCH_WORKER_TARGETS and
# VENDORWATCH_DISPATCHER_TARGETS (comma-separated host:port) the targets. State lives in a temp dir.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${VENDORWATCH_PROMETHEUS_PORT:-9090}"
run_dir="${TMPDIR:-/tmp}/vendorwatch-prometheus-$port"
pid_file="$run_dir/pid"
name=prometheus
# shellcheck source=deploy/local/prom-service.sh
source "$(dirname "${BASH_SOURCE[0]}")/prom-service.sh"

binary() { command -v prometheus || true; }

install() {
  if [[ -z "$(binary)" ]] || ! command -v promtool >/dev/null 2>&1; then
    echo "prometheus.sh: installing prometheus (with promtool) from Debian" >&2
    apt-get update -qq
    # --no-install-recommends: the package recommends the node exporter, which the tests do not use.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  fi
  # Debian starts the service where systemd runs; the tests start their own on free ports.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus || true
  fi
}

targets() { local IFS=,; for t in $1; do printf "'%s'," "$t"; done | sed 's/,$//'; }

start() {
  install
  if running; then echo "prometheus.sh: already running on 127.0.0.1:$port" >&2; return 0; fi
  mkdir -p "$run_dir/data"
  cat >"$run_dir/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $root/deploy/prometheus/rules/*.yml
scrape_configs:
  - job_name: vendorwatch-worker
    static_configs: [{targets: [$(targets "${VENDORWATCH_WORKER_TARGETS:-127.0.0.1:6066}")]}]
  - job_name: vendorwatch-dispatcher
    static_configs: [{targets: [$(targets "${VENDORWATCH_DISPATCHER_TARGETS:-127.0.0.1:6067}")]}]
YAML
  "$(binary)" --config.file="$run_dir/prometheus.yml" --storage.tsdb.path="$run_dir/data" \
    --web.listen-address="127.0.0.1:$port" >"$run_dir/prometheus.log" 2>&1 &
  echo $! >"$pid_file"
  wait_ready "$run_dir/prometheus.log" "Prometheus"
}

dispatch "$@"
