#!/usr/bin/env bash
# deploy/local/test.sh - set up on a fresh machine, start the local Apache Kafka broker, and run the
# checks: ruff, mypy (strict on source), and pytest including the broker tests. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash deploy/local/setup.sh

port="${VENDORWATCH_KAFKA_PORT:-9092}"
export VENDORWATCH_KAFKA_BOOTSTRAP="127.0.0.1:$port"
started=""
if ! bash deploy/local/kafka.sh status >/dev/null 2>&1; then
  bash deploy/local/kafka.sh start >/dev/null
  started=1
fi
bash deploy/local/alertmanager.sh start >/dev/null
cleanup() {
  bash deploy/local/alertmanager.sh stop || true
  [[ -z "$started" ]] || bash deploy/local/kafka.sh stop || true
}
trap cleanup EXIT
echo "test: Apache Kafka broker: $(bash deploy/local/kafka.sh status 2>&1)"

.venv/bin/ruff check .
.venv/bin/mypy
# The dashboard generator lives with its output in deploy/, outside the packages above.
.venv/bin/mypy --strict deploy/grafana/generate.py
status=0
.venv/bin/pytest -ra "$@" || status=$?
# pytest's 5 means no test ran: that is a failure here, never a pass.
exit "$status"
