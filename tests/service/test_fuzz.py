"""Requests generated from the API's own OpenAPI schema (schemathesis) against a real uvicorn on SQLite:
no route may answer 5xx, and every error must be JSON `{"detail": ...}`.

Bounded so it stays well under a minute: a few derandomised examples per operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.helpers.service import Stack

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def auth(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.create_key('fuzz')}"}


def _check(stack: Stack, auth: dict[str, str], case) -> None:
    response = case.call(base_url=stack.base_url, headers=auth, timeout=30)
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        (content_type,) = response.headers["content-type"]  # schemathesis keeps every value of a header
        assert content_type.startswith("application/json"), where
        assert "detail" in response.json(), where


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_server_errors_and_every_error_is_json(stack: Stack, auth: dict[str, str], mode) -> None:
    # schemathesis' pytest plugin does not run on pytest 9 (`Function._nodeid`), so each operation's
    # strategy is driven by Hypothesis directly.
    api = schemathesis.openapi.from_url(f"{stack.base_url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not (
            operation.path_parameters or operation.query or operation.body
        ):
            continue  # nothing to make invalid (/healthz, /readyz)

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:
            _check(stack, auth, case)

        fuzz()
