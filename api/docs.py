"""/docs (Swagger UI) and /redoc (ReDoc), served with their assets from this app so they work offline.

FastAPI's own pages load Swagger UI, ReDoc and Google Fonts from public CDNs, which leaves them blank on a
deployment without internet access. Swagger UI comes from the `swagger-ui-bundle-v2` package, ReDoc's
standalone bundle is vendored in api/static/redoc with its licence, and a Content-Security-Policy keeps the
browser from loading anything from elsewhere.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

SWAGGER_UI = "/static/swagger-ui"
REDOC_JS = "/static/redoc/redoc.standalone.js"
FAVICON = "/static/favicon.svg"

#: Inline script and styles are the two pages' own bootstrapping; everything else is this origin only.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "") + (request.app.openapi_url or "/openapi.json")


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters={"validatorUrl": None},  # the default validator is a public web service
    )
    page.headers.update(DOCS_HEADERS)
    return page


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} API",
        redoc_js_url=REDOC_JS,
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    page.headers.update(DOCS_HEADERS)
    return page


def mount_swagger_ui(app: FastAPI) -> None:
    """Swagger UI's files at /static/swagger-ui (mounted before /static, which would otherwise match)."""
    app.mount(SWAGGER_UI, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
