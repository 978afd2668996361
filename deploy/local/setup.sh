#!/usr/bin/env bash
# deploy/local/setup.sh - install what vendorwatch needs on a fresh machine, idempotently:
# Java 17+ and Maven (for the local Apache Kafka broker) from Debian if missing, Alertmanager and Prometheus
# (promtool) from Debian, the docker compose plugin and the k8s schema validators for the deploy checks, and a
# Python 3.11 virtualenv in .venv with vendorwatch and its dev extra. Prints nothing on a re-run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]} from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Alertmanager (Debian's prometheus-alertmanager) backs the receiver tests.
bash "$root/deploy/local/alertmanager.sh" install
# Prometheus and promtool (Debian's prometheus) back the rule tests and the live scrape test.
bash "$root/deploy/local/prometheus.sh" install
# The docker compose plugin (built once from its Go module) validates deploy/compose.yaml; the npm packages
# of deploy/k8s/validate check the Strimzi and Prometheus Operator resources against their CRD schemas.
bash "$root/deploy/local/compose.sh"
if [[ ! -d "$root/deploy/k8s/validate/node_modules" ]] && command -v npm >/dev/null 2>&1; then
  echo "setup: installing the k8s schema validators (npm ci in deploy/k8s/validate)" >&2
  (cd "$root/deploy/k8s/validate" && npm ci --silent --no-audit --no-fund)
fi

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python="$candidate"
    break
  fi
done
[[ -n "$python" ]] || { echo "setup: Python 3.11 is required" >&2; exit 1; }

venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "setup: creating $venv and installing vendorwatch[dev]" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e "$root[dev]"
  rm -f "$venv"/.installed-* && touch "$stamp"
fi
