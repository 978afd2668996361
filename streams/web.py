"""HTTP on the worker: ``/healthz``, ``/metrics`` and ``/v1/labs/{lab_id}/exposure``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter, ValidationError

from schemas.errors import InvalidArgument
from schemas.types import Id
from streams.app import Worker
from streams.asof import lab_exposure, parse_moment
from streams.explain import explain
from streams.history import FactLog
from streams.state import contracts_from_table

_ID = TypeAdapter(Id)


def _valid_id(value: str) -> bool:
    try:
        _ID.validate_python(value)
    except ValidationError:
        return False
    return True


def readiness(app: Any) -> str:
    """``starting`` (no partitions yet), ``rebalancing``, ``recovering`` (tables), or ``ok``."""
    if getattr(app, "rebalancing", False):
        return "rebalancing"
    if getattr(app, "in_recovery", False):
        return "recovering"
    if not app.consumer.assignment():
        return "starting"
    return "ok"


def register_pages(worker: Worker) -> None:
    app, tables = worker.app, worker.tables
    history = FactLog(worker.settings)  # read on demand, for ?as_of= only

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        status = readiness(app)
        worker.metrics.recovering.set(1 if status == "recovering" else 0)
        body = {"status": status, "app_id": worker.settings.app_id,
                "assigned_partitions": len(app.consumer.assignment()) if status != "starting" else 0}
        # 503 until partitions are assigned and tables recovered: a load balancer or a readiness probe
        # then sends no query to a worker that would answer from empty tables.
        return web.json(body, status=200 if status == "ok" else 503)

    @app.page("/livez")
    async def livez(web: Any, request: Any) -> Any:
        # Liveness, unlike /healthz (readiness): 503 only when partitions stopped making progress with
        # records left (streams/watchdog.py); a restart cures that, a rebalance does not need one.
        body = {"status": "stalled" if worker.stalled else "ok", "stalled_partitions": worker.stalled}
        return web.json(body, status=503 if worker.stalled else 200)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        # aiohttp takes the media type alone; the exposition format is UTF-8 by definition.
        return web.bytes(generate_latest(worker.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/v1/vendors/{vendor_id}/influence")
    @app.table_route(table=tables.contracts, match_info="vendor_id")
    async def influence(web: Any, request: Any, vendor_id: str) -> Any:
        lab_id = request.query.get("lab_id")
        for name, value in (("vendor_id", vendor_id), ("lab_id", lab_id)):
            if value is not None and not _valid_id(value):
                return web.json({"error": f"{name} {value!r} is not a valid id"}, status=400)
        explanation = explain(
            vendor_id, worker.cache.world(), contracts_from_table(tables.contracts.get(vendor_id)),
            lab_id=lab_id, as_of=datetime.now(UTC).date(), policy=worker.policy,
        )
        return web.json(explanation.model_dump(mode="json"))

    @app.page("/v1/labs/{lab_id}/exposure")
    @app.table_route(table=tables.exposure, match_info="lab_id")
    async def exposure(web: Any, request: Any, lab_id: str) -> Any:
        if not _valid_id(lab_id):
            return web.json({"error": f"lab_id {lab_id!r} is not a valid id"}, status=400)
        if "as_of" in request.query:
            return await exposure_as_of(web, lab_id, request.query["as_of"])
        return web.json(lab_exposure(lab_id, tables.exposure.get(lab_id)).model_dump(mode="json"))

    async def exposure_as_of(web: Any, lab_id: str, text: str) -> Any:
        # Folded from the retained fact topics (streams/history.py), not from this worker's tables.
        try:
            moment = parse_moment(text, "as_of")
        except InvalidArgument as error:
            return web.json({"error": str(error)}, status=422)
        try:
            answer = await history.exposure_as_of(lab_id, moment, worker.cache.limits, worker.policy)
        except (KafkaError, TimeoutError, LookupError) as error:
            return web.json({"error": f"cannot read the fact topics: {error}"}, status=503)
        return web.json(answer.model_dump(mode="json"))
