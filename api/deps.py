"""Dependencies shared by the routers: `SessionDep`, `CurrentCustomer`, settings, queue and file layout."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.settings import Settings
from storage import crud
from storage.db import get_engine
from storage.files import Layout
from worker.queue import JobQueue

bearer = HTTPBearer(auto_error=False, description="an API key from `classpulse keys create --customer NAME`")


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with Session(get_engine(settings.sqlalchemy_url), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_layout(settings: SettingsDep) -> Layout:
    return Layout(settings.data_dir)


LayoutDep = Annotated[Layout, Depends(get_layout)]


def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


QueueDep = Annotated[JobQueue, Depends(get_queue)]


@dataclass(frozen=True)
class CustomerRef:
    id: int
    name: str


def get_current_customer(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> CustomerRef:
    """The customer owning the Bearer key; 401 (JSON, with WWW-Authenticate) for a missing or wrong key."""
    customer = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        customer = crud.customer_for_api_key(session, key=credentials.credentials)
    if customer is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return CustomerRef(id=customer.id, name=customer.name)


CurrentCustomer = Annotated[CustomerRef, Depends(get_current_customer)]
