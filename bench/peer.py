"""Run the Quix Streams peer (bench/peer/quix_app.py) in its own virtualenv, created on first use."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.cleanup import delete_topics_of
from bench.kafka_io import Offsets, commit_positions
from schemas.registry import TOPIC_DATA_SHARES
from vendorwatch.settings import Settings

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peer-venv"
REQUIREMENTS = HERE / "peer" / "requirements.txt"
APP = HERE / "peer" / "quix_app.py"
TIMEOUT_S = 900


@dataclass(frozen=True)
class PeerRun:
    events: int
    seconds: float
    cpu_s: float

    @property
    def rps(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def peer_python() -> Path:
    """The peer's interpreter; the virtualenv is created from bench/peer/requirements.txt when missing."""
    python = VENV / "bin" / "python"
    marker = VENV / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print("bench: creating the Quix Streams peer's virtualenv (bench/.peer-venv) ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)  # noqa: S603
    marker.write_text(wanted)
    return python


async def run_peer(settings: Settings, starts: Offsets, events: int) -> PeerRun:
    group = f"bench-peer-{int(time.time())}-{secrets.token_hex(3)}"
    await commit_positions(settings, group, starts)
    python = peer_python()
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as state_dir:
        process = await asyncio.create_subprocess_exec(
            str(python), str(APP), "--bootstrap", settings.kafka_bootstrap, "--topic", TOPIC_DATA_SHARES,
            "--group", group, "--state-dir", state_dir, "--events", str(events),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(), TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        finally:
            await delete_topics_of(settings, group)
    if process.returncode != 0:
        raise RuntimeError(f"the Quix Streams peer failed ({process.returncode}): {err.decode()[-2000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return PeerRun(int(result["events"]), float(result["seconds"]), float(result["cpu_s"]))
