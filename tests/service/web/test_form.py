"""The upload form's controls against the API's `JobCreate`, and its mapping of a post to the API's fields."""

from __future__ import annotations

import re

from api.routes.web import OUTPUT_LABELS, templates
from api.schemas import JobCreate
from api.web.form import CONTROLS, Control, api_fields, describe
from classpulse.results import OUTPUT_FILES


def test_the_form_offers_every_upload_option_of_the_api() -> None:
    assert set(CONTROLS) == set(JobCreate.model_fields)
    detect = CONTROLS["detect_every_s"]
    assert (detect.default, detect.min, detect.max) == (1.0, 0.1, 60)
    assert CONTROLS["title"].max_length == 200


def test_the_page_names_every_output() -> None:
    assert set(OUTPUT_LABELS) == set(OUTPUT_FILES)


def test_a_post_becomes_the_api_fields() -> None:
    posted = {"title": "Week 1", "detect_every_s": "2", "csrf_token": "t", "unknown": "x"}
    assert api_fields(posted) == {
        "title": "Week 1",
        "detect_every_s": "2",
        "pulse": "false",
        "consent": "false",
    }
    assert api_fields({"pulse": "true"})["pulse"] == "true"
    JobCreate.model_validate(api_fields(posted))


def test_errors_in_words() -> None:
    assert describe("the job is queued; outputs exist once it has succeeded") == (
        "The job is queued; outputs exist once it has succeeded."
    )
    errors = [
        {"loc": ["detect_every_s"], "msg": "Input should be greater than 0"},
        {"loc": ["policy"], "msg": "Input should be 'full'"},
    ]
    assert describe(errors) == (
        "Seconds between face checks: input should be greater than 0; "
        "Analysis policy: input should be 'full'."
    )


def test_every_kind_of_control_renders_with_a_label() -> None:
    field = templates.get_template("_field.html.j2").module.field
    kinds = [
        CONTROLS["title"],
        CONTROLS["detect_every_s"],
        CONTROLS["pulse"],
        CONTROLS["purpose"],
        CONTROLS["markers"],
        CONTROLS["session_date"],
        # A required select: any JobCreate field serves to render one.
        Control(
            "title", "Purpose", "select", required=True, choices=(("", "Choose…"), ("research", "Research"))
        ),
    ]
    for control in kinds:
        html = str(field(control, {"title": "research", "purpose": "research"}))
        assert f'<label for="{control.name}">{control.label}</label>' in html
        assert re.search(rf'<(input|select) id="{control.name}" name="{control.name}"', html)
    markers = str(field(CONTROLS["markers"], {}))
    assert (
        'type="file"' in markers
        and 'accept=".csv,text/csv,text/plain"' in markers
        and "value=" not in markers
    )
    assert 'type="date"' in str(field(CONTROLS["session_date"], {}))
    purpose = str(field(CONTROLS["purpose"], {"purpose": "research"}))
    assert '<option value="research" selected>Research</option>' in purpose and " required" not in purpose
    select = str(field(kinds[-1], {"title": "research"}))
    assert '<option value="research" selected>Research</option>' in select and " required" in select
    # After a post the browser sends nothing for an unticked checkbox: it stays unticked.
    assert " checked" in str(field(CONTROLS["pulse"], {})) and " checked" not in str(
        field(CONTROLS["pulse"], {"title": "x"})
    )
