"""The deployment's privacy rules (`classpulse.policy`) as HTTP answers, for uploads and image requests."""

from __future__ import annotations

from fastapi import HTTPException, status
from pydantic import TypeAdapter, ValidationError

from classpulse.policy import Policy, ProhibitedUse, Purpose, check_job, effective_policy
from service.settings import Settings


def enforce(
    settings: Settings, requested: Policy | None, purpose: Purpose | str | None, consent: bool
) -> Policy:
    """The effective policy of a request; 403 when its jurisdiction prohibits it (the body names the
    article), 422 when a required declaration (consent, purpose) is missing or invalid."""
    policy = effective_policy(settings.policy, requested)
    try:
        check_job(
            policy,
            purpose,
            consent,
            jurisdiction=settings.jurisdiction,
            require_consent=settings.require_consent,
        )
    except ProhibitedUse as exc:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=str(exc)) from None
    except ValueError as exc:  # MissingDeclaration, or a purpose that is not one of `Purpose`
        raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    return policy


_PURPOSE = TypeAdapter(Purpose | None)
_CONSENT = TypeAdapter(bool)


def form_declarations(fields: dict[str, str]) -> tuple[Purpose | None, bool]:
    """`purpose` and `consent` from raw form fields, read as a job upload reads them (`consent`: true, 1,
    yes, on...); 422 when either is not a valid value."""
    try:
        return (
            _PURPOSE.validate_python(fields.get("purpose") or None),
            _CONSENT.validate_python(fields.get("consent") or False),
        )
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'field'}: {e['msg']}" for e in exc.errors())
        raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY, detail=detail) from None
