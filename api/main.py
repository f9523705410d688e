"""The FastAPI application factory: `uvicorn --factory api.main:create_app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api import docs
from api.metrics import LatencyMiddleware, Metrics
from api.routes import courses, health, images, jobs, metrics, web
from api.web.session import load_secret
from classpulse import __version__
from service.settings import Settings, get_settings
from storage.db import get_engine, init_db
from storage.files import Layout

log = logging.getLogger(__name__)

#: The web page's stylesheet, script and icon, and the vendored ReDoc bundle.
STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from worker.app import create_celery
        from worker.queue import JobQueue

        init_db(get_engine(settings.sqlalchemy_url))
        Layout(settings.data_dir).ensure()
        app.state.web_secret = load_secret(settings)
        app.state.queue = JobQueue(settings, create_celery(settings))
        app.state.inference_limiter = anyio.CapacityLimiter(1)
        log.info(
            "classpulse API %s started: data in %s, database %s, log level %s",
            __version__,
            settings.data_dir,
            settings.sqlalchemy_url.split("@")[-1],
            settings.log_level,
        )
        try:
            yield
        finally:
            app.state.queue.close()

    app = FastAPI(
        title="Classpulse",
        version=__version__,
        summary="Engagement reports for recorded lectures: upload a recording, download the PDF.",
        lifespan=lifespan,
        docs_url=None,  # api.docs serves both pages with local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics(settings.sqlalchemy_url)
    app.add_middleware(LatencyMiddleware, metrics=app.state.metrics)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(jobs.router)
    app.include_router(courses.router)
    app.include_router(images.router)
    app.include_router(docs.router)
    app.include_router(web.router)
    docs.mount_swagger_ui(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse(web.HOME)

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"detail": "internal server error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
        )

    return app
