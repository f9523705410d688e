"""The upload form: its controls, grouped as the page shows them, and how a post becomes the API's fields.

Each control names one `JobCreate` field; its default, bounds and length come from that field, so the form
and the API cannot disagree. To offer a new upload option, add its `JobCreate` field and one `Control` to
the group it belongs to (a new `FieldGroup` for a new topic); the template and `api_fields` need no change.
The privacy fields are not `required` here: whether a purpose or consent is required depends on the
deployment's settings, and the API's 422 or 403 is shown in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from api.schemas import JobCreate
from classpulse.policy import Policy, Purpose


@dataclass(frozen=True)
class Control:
    """One form control for the `JobCreate` field `name`. `kind`: text, number (with `step`), date
    (YYYY-MM-DD), checkbox (sends "true" when ticked, "false" when not), select (`choices`: value, label)
    or file (a small file part, such as markers, with the types it `accept`s)."""

    name: str
    label: str
    kind: Literal["text", "number", "date", "checkbox", "select", "file"]
    hint: str = ""
    step: float | None = None
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    accept: str = ""

    @property
    def default(self) -> Any:
        return JobCreate.model_fields[self.name].default

    def _bound(self, attribute: str) -> Any:
        """The `JobCreate` constraint named `attribute` (gt, ge, le, max_length), or None."""
        values = (getattr(item, attribute, None) for item in JobCreate.model_fields[self.name].metadata)
        return next((v for v in values if v is not None), None)

    @property
    def min(self) -> float | None:
        """Inclusive lower bound (an exclusive `gt` moves up by one `step`)."""
        ge, gt = self._bound("ge"), self._bound("gt")
        if ge is not None:
            return ge
        return None if gt is None else gt + (self.step or 0)

    @property
    def max(self) -> float | None:
        return self._bound("le")

    @property
    def max_length(self) -> int | None:
        return self._bound("max_length")


@dataclass(frozen=True)
class FieldGroup:
    """A fieldset of the form, with its legend; an `optional` one starts folded away (its defaults suit most
    recordings, and on a phone the job list is below the form)."""

    legend: str
    controls: tuple[Control, ...]
    optional: bool = False


UPLOAD_GROUPS: tuple[FieldGroup, ...] = (
    FieldGroup(
        "Recording",  # the page puts the file input first in this group
        (
            Control("title", "Title", "text", hint="Printed on the report; the file name if left empty."),
            Control(
                "course",
                "Course",
                "text",
                hint="Optional. Recordings with the same course can be compared in one report.",
            ),
        ),
    ),
    FieldGroup(
        "Lecture",
        (
            Control(
                "markers",
                "Lecture markers (CSV)",
                "file",
                hint="Lines of start,label or start,end,label (seconds or mm:ss) split the report into "
                "segments; without a file it uses 5-minute windows.",
                accept=".csv,text/csv,text/plain",
            ),
            Control(
                "session_date",
                "Session date",
                "date",
                hint="When the lecture took place; the recording's own date if left empty.",
            ),
        ),
    ),
    FieldGroup(
        "Analysis options",
        (
            Control(
                "detect_every_s",
                "Seconds between face checks",
                "number",
                hint="Shorter finds faces sooner and takes longer.",
                step=0.1,
            ),
            Control(
                "emotion_every_s",
                "Seconds between expression samples",
                "number",
                hint="How often each face's expression is read.",
                step=0.1,
            ),
            Control("pulse", "Estimate heart rate from the faces", "checkbox"),
            Control(
                "negative_minutes",
                "Minutes of negative expression before a person is flagged",
                "number",
                hint="The service's default if left empty.",
                step=0.5,
            ),
        ),
        optional=True,
    ),
    FieldGroup(
        "Privacy",
        (
            Control(
                "policy",
                "Analysis policy",
                "select",
                hint="Aggregate: audience-level results only. No emotion: presence only, no expressions.",
                choices=(("", "The service's default"), *((p.value, p.value) for p in Policy)),
            ),
            Control(
                "purpose",
                "Purpose",
                "select",
                hint="Why this recording is analysed; some services require it.",
                choices=(("", "Not declared"), *((p.value, p.value.capitalize()) for p in Purpose)),
            ),
            Control("consent", "The people recorded were informed and agreed", "checkbox"),
        ),
    ),
)

CONTROLS: dict[str, Control] = {c.name: c for group in UPLOAD_GROUPS for c in group.controls}


def api_fields(received: dict[str, str]) -> dict[str, str]:
    """The posted form as `JobCreate`'s fields: only the form's controls (never the CSRF token), and an
    unticked checkbox, which the browser does not send, as "false". A file control's part comes with the
    upload's small parts (`api.uploads.ReceivedForm.small`), not here."""
    fields = {}
    for control in CONTROLS.values():
        if control.kind == "checkbox":
            fields[control.name] = "true" if received.get(control.name) else "false"
        elif control.name in received:
            fields[control.name] = received[control.name]
    return fields


def describe(detail: str | Sequence[dict]) -> str:
    """An API error body's `detail` as one sentence: a message as it is, or each invalid field by its label
    on this form ("Seconds between face checks: input should be greater than 0")."""
    if isinstance(detail, str):
        return _sentence(detail)
    parts = []
    for error in detail:
        name = str(error.get("loc", ["?"])[-1])
        label = CONTROLS[name].label if name in CONTROLS else name
        message = str(error.get("msg", "invalid value"))
        parts.append(f"{label}: {message[:1].lower()}{message[1:]}")
    return _sentence("; ".join(parts))


def _sentence(text: str) -> str:
    """`text` with a full stop, and a capital when it starts with a plain word (never a file name's)."""
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
