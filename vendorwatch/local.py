"""Run vendorwatch locally as real processes: broker check, worker, dispatcher, waiting for quiet.

Used by ``vendorwatch demo`` and the end-to-end tests, so both exercise exactly what an operator runs.
Each stack gets its own app id (consumer group, internal topics, changelogs) positioned at the end of
the shared topics, so it sees only what is published after it starts, on any broker.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from schemas.registry import TOPIC_ALERTS
from streams.admin import ensure_topics, start_group_at_end, stream_topics, wait_caught_up
from vendorwatch.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
KAFKA_SCRIPT = REPO_ROOT / "deploy" / "local" / "kafka.sh"
STORY_DIR = Path(__file__).resolve().parent / "stories" / "seed"
# A stack keeps test-speed retries unless the caller chose a schedule of its own.
DEFAULT_SCHEDULE = Settings.model_fields["retry_schedule"].default


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def broker_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def start_local_broker(bootstrap: str) -> None:
    """Start the project's Apache Kafka (deploy/local/kafka.sh) on the bootstrap's port."""
    if not KAFKA_SCRIPT.exists():
        raise FileNotFoundError(f"{KAFKA_SCRIPT} is missing: run from a vendorwatch checkout, or start a broker")
    port = bootstrap.split(",")[0].rpartition(":")[2]
    env = {**os.environ, "VENDORWATCH_KAFKA_PORT": port}
    subprocess.run(["bash", str(KAFKA_SCRIPT), "start"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603, S607


@dataclass
class Stack:
    """A worker and a dispatcher of one app id, started as child processes."""

    settings: Settings
    workdir: Path
    webhook_url: str
    webhook_secret: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def app_id(self) -> str:
        return self.settings.app_id

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    def env(self) -> dict[str, str]:
        overrides = {
            "VENDORWATCH_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "VENDORWATCH_APP_ID": self.app_id,
            "VENDORWATCH_DATA_DIR": str(self.workdir / "data"),
            "VENDORWATCH_TABLE_STORE": self.settings.table_store,
            "VENDORWATCH_HTTP_PORT": str(self.settings.http_port),
            "VENDORWATCH_DISPATCHER_HTTP_PORT": str(self.settings.dispatcher_http_port),
            "VENDORWATCH_TOPIC_PARTITIONS": str(self.settings.topic_partitions),
            "VENDORWATCH_SESSION_TIMEOUT_S": str(self.settings.session_timeout_s),
            "VENDORWATCH_STALL_TIMEOUT_S": str(self.settings.stall_timeout_s),
            "VENDORWATCH_WEBHOOK_URL": self.webhook_url,
            "VENDORWATCH_WEBHOOK_SECRET": self.webhook_secret,
            "VENDORWATCH_ALLOW_INSECURE_HOSTS": "127.0.0.1,localhost",
            "VENDORWATCH_DISPATCHER_GROUP": self.dispatcher_group,
            "VENDORWATCH_RETRY_SCHEDULE": self.settings.retry_schedule
            if self.settings.retry_schedule != DEFAULT_SCHEDULE else "0.2s,0.5s,1s,2s",
            "VENDORWATCH_RETRY_HORIZON_S": str(self.settings.retry_horizon_s),
            "VENDORWATCH_SILENCES_TOPIC": self.settings.silences_topic,
            "VENDORWATCH_SHIPMENT_DEDUP_RETENTION_S": str(self.settings.shipment_dedup_retention_s),
        }
        if self.settings.routing_file is not None:
            overrides["VENDORWATCH_ROUTING_FILE"] = str(self.settings.routing_file)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("VENDORWATCH_")}
        return {**inherited, **overrides}

    @property
    def dispatcher_group(self) -> str:
        return f"{self.app_id}-dispatcher"

    @property
    def worker_topics(self) -> list[str]:
        """Everything the worker's group consumes: when all is committed, the worker is quiet."""
        return stream_topics(self.settings)

    def spawn(self, role: str, *, name: str | None = None,
              env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``vendorwatch <role>``; ``name`` (default: the role) tells apart two of one role."""
        name = name or role
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "vendorwatch.cli", role], env={**self.env(), **(env or {})}, stdout=log,
            stderr=subprocess.STDOUT, cwd=self.workdir,
        )
        self.processes[name] = process
        return process

    def spawn_worker(self, name: str, http_port: int) -> subprocess.Popen[bytes]:
        """One more worker in the same consumer group, with its own HTTP port and table directory."""
        return self.spawn("worker", name=name, env={
            "VENDORWATCH_HTTP_PORT": str(http_port), "VENDORWATCH_DATA_DIR": str(self.workdir / f"{name}-data")})

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or an OOM kill would: no shutdown, no final commit."""
        process = self.processes[name]
        process.kill()
        process.wait()

    def publish(self, *files: Path) -> subprocess.CompletedProcess[str]:
        """``vendorwatch publish FILE...``, as a producer would run it."""
        return subprocess.run(  # noqa: S603
            [sys.executable, "-m", "vendorwatch.cli", "publish", *map(str, files)],
            env=self.env(), capture_output=True, text=True, check=False,
        )

    async def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                self._check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.api}/healthz", timeout=2)
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.3)
        raise TimeoutError(f"worker not ready in {timeout}s; see {self.workdir / 'worker.log'}")

    async def wait_quiet(self, timeout: float = 90.0) -> None:
        """Until the worker has processed all it was sent and the dispatcher has delivered all alerts."""
        await wait_caught_up(self.settings, self.app_id, self.worker_topics, timeout=timeout)
        await wait_caught_up(self.settings, self.dispatcher_group, [TOPIC_ALERTS], timeout=timeout)

    async def exposure(self, lab_id: str) -> dict[str, object]:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.api}/v1/labs/{lab_id}/exposure", timeout=10)
            response.raise_for_status()
            result: dict[str, object] = response.json()
            return result

    async def metrics(self) -> str:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.api}/metrics", timeout=10)
            response.raise_for_status()
            return response.text

    def _check_alive(self) -> None:
        for role, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{role} exited with {process.returncode}; see {self.workdir / (role + '.log')}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.asynccontextmanager
async def running_stack(
    base: Settings, workdir: Path, webhook_url: str, webhook_secret: str, *, app_id: str | None = None,
    extra: Mapping[str, object] | None = None, stack_type: type[Stack] = Stack,
) -> AsyncIterator[Stack]:
    """Start a worker and a dispatcher on a fresh app id, positioned at the end of the shared topics."""
    app_id = app_id or f"vw-{int(time.time())}-{secrets.token_hex(3)}"
    settings = base.model_copy(update={
        "app_id": app_id, "http_port": free_port(), "dispatcher_http_port": free_port(), **(extra or {})})
    workdir.mkdir(parents=True, exist_ok=True)
    stack = stack_type(settings, workdir, webhook_url, webhook_secret)
    await ensure_topics(settings)
    await start_group_at_end(settings, stack.app_id, stack.worker_topics)
    await start_group_at_end(settings, stack.dispatcher_group, [TOPIC_ALERTS])
    try:
        stack.spawn("worker")
        stack.spawn("dispatcher")
        await stack.wait_ready()
        yield stack
    finally:
        stack.stop()
