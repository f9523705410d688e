"""The privacy rules (`classpulse.policy`) and the worker applying them to stored jobs and archive jobs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from classpulse.options import AnalysisOptions
from classpulse.policy import (
    AI_ACT_ARTICLE,
    MissingDeclaration,
    Policy,
    ProhibitedUse,
    Purpose,
    check_job,
    effective_policy,
)
from classpulse.video.probe import InputError


@pytest.mark.parametrize(("deployment", "requested"), list(itertools.product(Policy, [None, *Policy])))
def test_the_stricter_policy_wins(deployment: Policy, requested: Policy | None) -> None:
    order = list(Policy)
    expected = (
        deployment if requested is None else order[max(order.index(deployment), order.index(requested))]
    )
    assert effective_policy(deployment.value, requested and requested.value) is expected


def test_what_each_policy_allows() -> None:
    assert [(p.per_face, p.infers_emotions) for p in Policy] == [(True, True), (False, True), (False, False)]
    assert AnalysisOptions(policy="full").measures_pulse
    assert not AnalysisOptions(policy="aggregate").measures_pulse
    assert not AnalysisOptions(policy="full", pulse=False).measures_pulse
    with pytest.raises(ValueError, match="Policy"):
        AnalysisOptions(policy="everything")


@pytest.mark.parametrize("purpose", ["education", "workplace"])
@pytest.mark.parametrize("policy", [Policy.FULL, Policy.AGGREGATE])
def test_eu_refuses_emotion_inference_in_schools_and_workplaces(policy: Policy, purpose: str) -> None:
    with pytest.raises(ProhibitedUse) as refused:
        check_job(policy, purpose, True, jurisdiction="eu", require_consent=False)
    assert AI_ACT_ARTICLE in str(refused.value) and "Art. 5(1)(f)" in str(refused.value)
    check_job(Policy.NO_EMOTION, purpose, True, jurisdiction="eu", require_consent=False)


@pytest.mark.parametrize("purpose", sorted(set(Purpose) - {Purpose.EDUCATION, Purpose.WORKPLACE}))
def test_eu_allows_emotion_inference_for_other_purposes(purpose: Purpose) -> None:
    check_job(Policy.FULL, purpose, False, jurisdiction="eu", require_consent=False)


def test_declarations() -> None:
    with pytest.raises(MissingDeclaration, match="purpose"):
        check_job(Policy.NO_EMOTION, None, True, jurisdiction="eu", require_consent=False)
    with pytest.raises(MissingDeclaration, match="consent"):
        check_job(Policy.NO_EMOTION, "research", False, jurisdiction=None, require_consent=True)
    # Without a jurisdiction nothing is refused for its purpose, and the purpose is optional.
    check_job(Policy.FULL, "education", False, jurisdiction=None, require_consent=False)
    check_job(Policy.FULL, None, True, jurisdiction=None, require_consent=True)


def test_the_worker_applies_the_current_rules(tmp_path: Path) -> None:
    """Stored options meet the deployment's settings at run time: the stricter policy, and a job the rules
    now forbid (an archive job under eu declares no purpose) fails with the reason."""
    from service.settings import Settings
    from storage.models import Job
    from worker.jobs import JobRunner

    def options(job_options: dict, **settings: object) -> AnalysisOptions:
        runner = JobRunner(settings=Settings(data_dir=tmp_path, **settings), queue=None, worker_name="test")
        return runner.job_options(Job(options=job_options, title="t"))

    stored = {"detect_every_s": 1.0, "policy": "full", "purpose": "research", "consent": True}
    assert options(stored, policy="aggregate").policy is Policy.AGGREGATE
    assert options({**stored, "policy": "no-emotion"}).policy is Policy.NO_EMOTION
    archive = {"purpose": None, "consent": False}
    assert options(archive, policy="no-emotion").policy is Policy.NO_EMOTION
    with pytest.raises(InputError, match="purpose"):
        options(archive, jurisdiction="eu")
    with pytest.raises(InputError, match=r"Art\. 5\(1\)\(f\)"):
        options({**archive, "purpose": "education"}, jurisdiction="eu")
