#!/usr/bin/env bash
# deploy/local/compose.sh install - the Docker Compose v2 CLI plugin, so `docker compose -f deploy/compose.yaml
# config` can validate the compose file on a machine with the docker CLI but no compose plugin (and no daemon:
# `config` needs none). Debian ships no compose v2 plugin, so it is built from its Go module
# (github.com/docker/compose/v2, through the Go module proxy) with the machine's Go; about 6 CPU-minutes once.
# Installed to /usr/local/lib/docker/cli-plugins, where the docker CLI looks. Idempotent.
set -euo pipefail
version="v2.40.3"
plugin_dir="/usr/local/lib/docker/cli-plugins"

if docker compose version >/dev/null 2>&1; then exit 0; fi
command -v docker >/dev/null 2>&1 || { echo "compose.sh: no docker CLI; the compose check will be skipped" >&2; exit 0; }
command -v go >/dev/null 2>&1 || { echo "compose.sh: Go is needed to build the compose plugin" >&2; exit 1; }

echo "compose.sh: building docker compose $version from its Go module (once)" >&2
work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
export GOPATH="${GOPATH:-$(go env GOPATH)}" GOFLAGS=-mod=mod
# Its go.mod has exclude directives, which `go install module@version` refuses: build it as the main module.
src="$(cd "$work" && go mod download -json "github.com/docker/compose/v2@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
cp -r "$src" "$work/compose" && chmod -R u+w "$work/compose"
(cd "$work/compose" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
  -o "$work/docker-compose" ./cmd)
mkdir -p "$plugin_dir"
install -m 0755 "$work/docker-compose" "$plugin_dir/docker-compose"
docker compose version >&2
