"""/healthz (the process answers) and /readyz (the database and the broker answer)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import QueueDep, SettingsDep
from api.schemas import Health, Readiness
from storage.db import get_engine, ping

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(settings: SettingsDep, queue: QueueDep) -> JSONResponse:
    checks = {}
    for name, check in (
        ("database", lambda: ping(get_engine(settings.sqlalchemy_url))),
        ("broker", queue.ping),
    ):
        try:
            await run_in_threadpool(check)
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness: %s unavailable", name, exc_info=True)
            checks[name] = f"unavailable ({type(exc).__name__})"
    ok = all(value == "ok" for value in checks.values())
    body = Readiness(status="ok" if ok else "unavailable", **checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
