"""Service subcommands of `classpulse`: serve, worker, beat, keys create/list/revoke.

`cli.main` calls `register(subparsers)`; every handler takes the parsed Namespace and returns an exit code.
FastAPI, uvicorn and Celery are imported inside the handlers, so `classpulse analyze` stays light.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

#: New files 0600, new folders 0700.
PRIVATE_UMASK = 0o077


def _settings():
    """The service's settings, with this process prepared for them (or None after printing why not).

    Files and folders the service creates hold recordings, faces and results: owner-only (umask 077).
    `cli.main` leaves the root logger at WARNING for the analysis commands; the service commands log
    at CLASSPULSE_LOG_LEVEL (uvicorn and Celery configure only their own loggers from it).
    """
    from service.settings import get_settings

    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError: print it without a traceback
        print(f"classpulse: invalid configuration:\n{exc}", file=sys.stderr)
        return None
    os.umask(PRIVATE_UMASK)
    logging.getLogger().setLevel(settings.log_level)
    return settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    if settings is None:
        return 2
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


# Worker-to-worker chatter we do not use: each job is independent and its state lives in the job table.
_QUIET_WORKER_FLAGS = ("--without-gossip", "--without-mingle", "--without-heartbeat")


def _celery_worker(argv: list[str]) -> int:
    from worker.app import app

    try:
        app.worker_main(argv)
    except SystemExit as exc:  # celery's command line exits; turn it into an exit code
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from worker.app import ANALYSIS_QUEUE

    settings = _settings()
    if settings is None:
        return 2
    concurrency = args.concurrency or settings.worker_concurrency
    # Each pool process runs torch; share the cores between them instead of oversubscribing.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // concurrency)))
    return _celery_worker(
        [
            "worker",
            f"--loglevel={settings.log_level}",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            f"--queues={args.queues or ANALYSIS_QUEUE}",
            f"--hostname={args.name or 'analysis@%h'}",
            *_QUIET_WORKER_FLAGS,
        ]
    )


def _beat(args: argparse.Namespace) -> int:
    from storage.files import Layout
    from worker.app import HOUSEKEEPING_QUEUE

    settings = _settings()
    if settings is None:
        return 2
    layout = Layout(settings.data_dir)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    # The scheduler (-B) embedded in a one-process worker that consumes only the housekeeping queue, so the
    # reaper, scans and retention run even while every analysis worker is busy. Run exactly one of these.
    return _celery_worker(
        [
            "worker",
            "--beat",
            f"--schedule={layout.beat_schedule}",
            f"--loglevel={settings.log_level}",
            "--pool=solo",
            f"--queues={HOUSEKEEPING_QUEUE}",
            f"--hostname={args.name or 'housekeeping@%h'}",
            *_QUIET_WORKER_FLAGS,
        ]
    )


def _key_store(action: Callable[[Any], Any]) -> tuple[int, Any]:
    """Run `action(session)` in one transaction on the configured job store; exit 2 on bad settings."""
    from storage.db import get_engine, init_db, session_scope

    settings = _settings()
    if settings is None:
        return 2, None
    engine = get_engine(settings.sqlalchemy_url)
    init_db(engine)
    try:
        with session_scope(engine) as session:
            return 0, action(session)
    except ValueError as exc:
        print(f"classpulse: {exc}", file=sys.stderr)
        return 2, None


def _keys_create(args: argparse.Namespace) -> int:
    from service.audit import audit
    from storage import crud

    def create(session) -> tuple[str, int]:
        customer = crud.get_or_create_customer(session, name=args.customer)
        return crud.create_api_key(session, customer=customer), customer.id

    code, created = _key_store(create)
    if code:
        return code
    key, customer_id = created
    audit("api key created", customer_id=customer_id)
    print(key)
    print(
        f"API key for customer {args.customer!r}: shown once, stored only as a hash. "
        f"Use it as 'Authorization: Bearer <key>'.",
        file=sys.stderr,
    )
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from storage import crud

    code, keys = _key_store(lambda s: crud.list_api_keys(s, customer=args.customer))
    for key in keys or ():
        print(json.dumps(key))
    return code


def _keys_revoke(args: argparse.Namespace) -> int:
    from service.audit import audit
    from storage import crud

    code, customer_id = _key_store(lambda s: crud.revoke_api_key(s, prefix=args.prefix))
    if code:
        return code
    if customer_id is None:
        print(f"classpulse: no live API key with prefix {args.prefix!r}", file=sys.stderr)
        return 1
    audit("api key revoked", customer_id=customer_id)
    print(f"revoked API key {args.prefix}; requests with it now get 401", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add serve, worker, beat and keys to the `classpulse` command line."""
    serve = subparsers.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", help="interface to listen on (default CLASSPULSE_API_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default CLASSPULSE_API_PORT, 8000)")
    serve.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1", help="proxies whose X-Forwarded-* headers are trusted"
    )
    serve.set_defaults(handler=_serve)

    worker = subparsers.add_parser("worker", help="run a Celery worker that analyses recordings")
    worker.add_argument(
        "--concurrency", type=int, help="parallel jobs (default CLASSPULSE_WORKER_CONCURRENCY, 1)"
    )
    worker.add_argument("--queues", help="comma-separated queues to consume (default: analysis)")
    worker.add_argument("--name", help="worker node name (default analysis@<hostname>)")
    worker.set_defaults(handler=_worker)

    beat = subparsers.add_parser("beat", help="run the scheduler: archive scans, reaper, retention (run one)")
    beat.add_argument("--name", help="node name (default housekeeping@<hostname>)")
    beat.set_defaults(handler=_beat)

    keys = subparsers.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create an API key for a customer and print it once")
    create.add_argument("--customer", required=True, help="customer name (created if new)")
    create.set_defaults(handler=_keys_create)
    listing = keys.add_parser("list", help="list keys (prefix, customer, created, revoked) as JSON lines")
    listing.add_argument("--customer", help="only this customer's keys")
    listing.set_defaults(handler=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by its prefix (the part after 'cp_')")
    revoke.add_argument("prefix")
    revoke.set_defaults(handler=_keys_revoke)
