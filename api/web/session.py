"""Who is signed in to the web page, and the CSRF tokens of its forms.

Session: the customer's API key in an HttpOnly, SameSite=Strict cookie whose path is /web. Scripts cannot
read it, no cross-site request carries it, and the /v1 API never reads cookies at all, so the API cannot be
driven cross-site through it. The key is looked up on every request, so a revoked key is locked out of the
page at once, exactly as out of the API. It is a session cookie: the browser forgets it when it closes
(school computers are shared).

CSRF: a signed double-submit token. A random nonce lives in a second HttpOnly, SameSite=Strict cookie, and
every form carries HMAC-SHA256(secret, nonce | session) in a hidden field. A forged cross-site post carries
neither cookie; a nonce planted from a sibling subdomain is useless without the server's secret; and binding
the token to the session makes it die at sign-in and sign-out (so the sign-in form cannot be forged either).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status

from api.deps import CustomerRef, SessionDep
from service.settings import Settings
from storage import crud

SESSION_COOKIE = "classpulse_session"
NONCE_COOKIE = "classpulse_csrf"
COOKIE_PATH = "/web"
CSRF_FIELD = "csrf_token"
SECRET_FILE = "web-secret"
#: Longer cookie values are not ours (keys are about 60 characters, nonces 43).
MAX_COOKIE_CHARS = 200
EXPIRED_FORM = "this form has expired or did not come from this site: reload the page and try again"


def load_secret(settings: Settings) -> bytes:
    """CLASSPULSE_WEB_SECRET, else a random secret created once in the data directory (0600) and read by
    every API process on it, so a token made by one process is accepted by another. It is written to a
    temporary file and linked into place, so a process starting at the same moment never reads half of it."""
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value().encode()
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        tmp = path.with_name(f".{SECRET_FILE}-{secrets.token_hex(8)}")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: use its secret
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def csrf_token(secret: bytes, nonce: str, api_key: str | None) -> str:
    """The token a form must send back: HMAC-SHA256 of the nonce and the session, base64url."""
    message = f"{nonce}|{hashlib.sha256((api_key or '').encode()).hexdigest()}".encode()
    return base64.urlsafe_b64encode(hmac.digest(secret, message, "sha256")).decode().rstrip("=")


@dataclass(frozen=True)
class WebSession:
    """The request's signed-in customer (None: signed out), API key and CSRF nonce (`new_nonce`: not yet
    in a cookie, so the response must set it)."""

    customer: CustomerRef | None
    api_key: str | None
    nonce: str
    new_nonce: bool
    secret: bytes

    @property
    def token(self) -> str:
        return csrf_token(self.secret, self.nonce, self.api_key)

    def check_csrf(self, submitted: str | None) -> None:
        """403 unless `submitted` is this session's token (constant-time compare, as bytes: any text may
        arrive)."""
        if (
            self.new_nonce
            or not submitted
            or not hmac.compare_digest(submitted.encode(), self.token.encode())
        ):
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=EXPIRED_FORM)


def _cookie(request: Request, name: str) -> str | None:
    value = request.cookies.get(name)
    return value if value and len(value) <= MAX_COOKIE_CHARS else None


def get_web_session(request: Request, session: SessionDep) -> WebSession:
    api_key = _cookie(request, SESSION_COOKIE)
    customer = crud.customer_for_api_key(session, key=api_key) if api_key else None
    nonce = _cookie(request, NONCE_COOKIE)
    return WebSession(
        customer=CustomerRef(id=customer.id, name=customer.name) if customer else None,
        api_key=api_key if customer else None,
        nonce=nonce or secrets.token_urlsafe(32),
        new_nonce=nonce is None,
        secret=request.app.state.web_secret,
    )


WebSessionDep = Annotated[WebSession, Depends(get_web_session)]


def _set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    secure = request.app.state.settings.web_secure_cookies
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" if secure is None else secure,
    )


def keep_nonce(response: Response, request: Request, web: WebSession) -> None:
    """Set the nonce cookie when this request made the nonce its forms carry."""
    if web.new_nonce:
        _set_cookie(response, request, NONCE_COOKIE, web.nonce)


def sign_in(response: Response, request: Request, api_key: str) -> None:
    """Keep the key in the session cookie, with a fresh nonce (tokens of the signed-out page die)."""
    _set_cookie(response, request, SESSION_COOKIE, api_key)
    _set_cookie(response, request, NONCE_COOKIE, secrets.token_urlsafe(32))


def sign_out(response: Response, request: Request) -> None:
    """Forget the key and the nonce."""
    for name in (SESSION_COOKIE, NONCE_COOKIE):
        response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict")
