"""Privacy modes: what an analysis may infer and what may leave the worker, and when a job is refused.

The one home of these rules: the command line, the API, the web page and the worker all call
`effective_policy` and `check_job`, so no entry point can be laxer than another. Pure and torch-free.
"""

from __future__ import annotations

import enum

#: The provision that prohibits emotion inference in education and workplaces (README, "Privacy modes").
AI_ACT_ARTICLE = "Regulation (EU) 2024/1689 (AI Act), Art. 5(1)(f)"


class Policy(enum.StrEnum):
    """Analysis policies, from the least to the most restrictive (the member order is the strictness)."""

    FULL = "full"  # per-face sections, expressions and heart rate
    AGGREGATE = "aggregate"  # audience-level results only; nobody can be followed across seconds
    NO_EMOTION = "no-emotion"  # audience-level presence and readability; the expression model never runs

    @property
    def per_face(self) -> bool:
        """Whether per-face results (face sections, faces.csv rows, per-face pulse) may be produced."""
        return self is Policy.FULL

    @property
    def infers_emotions(self) -> bool:
        return self is not Policy.NO_EMOTION


class Purpose(enum.StrEnum):
    """Why a job is run, as declared by the customer."""

    EDUCATION = "education"
    WORKPLACE = "workplace"
    RESEARCH = "research"
    MEDICAL = "medical"
    SAFETY = "safety"
    OTHER = "other"


class Jurisdiction(enum.StrEnum):
    EU = "eu"


#: Purposes for which the AI Act prohibits inferring emotions (its medical and safety exceptions aside).
EMOTION_PROHIBITED = frozenset({Purpose.EDUCATION, Purpose.WORKPLACE})


class MissingDeclaration(ValueError):
    """The job lacks a declaration the deployment requires (purpose, consent): the request is incomplete."""


class ProhibitedUse(ValueError):
    """The job asks for an analysis the deployment's jurisdiction prohibits for its purpose."""


def effective_policy(deployment: Policy | str, requested: Policy | str | None = None) -> Policy:
    """The stricter of the deployment's policy and the job's (None: the deployment's)."""
    order = list(Policy)
    policies = [Policy(deployment)] + ([Policy(requested)] if requested else [])
    return max(policies, key=order.index)


def check_job(
    policy: Policy,
    purpose: Purpose | str | None,
    consent: bool,
    *,
    jurisdiction: Jurisdiction | str | None,
    require_consent: bool,
) -> None:
    """Raise `MissingDeclaration` or `ProhibitedUse` (messages meant for the customer) unless a job with
    the effective `policy`, declared `purpose` and consent assertion may run on this deployment."""
    if require_consent and not consent:
        raise MissingDeclaration(
            "this deployment requires consent=true: assert that the people recorded were informed and agreed"
        )
    if jurisdiction != Jurisdiction.EU:
        return
    if purpose is None:
        raise MissingDeclaration(
            f"this deployment requires a purpose: one of {', '.join(p.value for p in Purpose)}"
        )
    if policy.infers_emotions and Purpose(purpose) in EMOTION_PROHIBITED:
        raise ProhibitedUse(
            f"emotion inference for the purpose {Purpose(purpose).value!r} is prohibited by "
            f"{AI_ACT_ARTICLE}; use the policy {Policy.NO_EMOTION.value!r}"
        )
