"""The managers' forms: the inbox's filters and a review of one or many records."""

from __future__ import annotations

from django import forms

from tuning.models import Verdict
from tuning.selectors import AgentLabel, Followed, InboxFilters


class InboxFilterForm(forms.Form):
    low = forms.BooleanField(required=False, label="Low confidence")
    followed = forms.ChoiceField(
        required=False, choices=[("", "Anything followed"), *[(f.value, f.value.title()) for f in Followed]]
    )
    agent = forms.ChoiceField(
        required=False,
        label="Agent's label",
        choices=[("", "Any"), (AgentLabel.LABELLED.value, "Labelled"), (AgentLabel.CORRECTED.value, "Corrected")],
    )
    intent = forms.CharField(required=False, max_length=100)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(required=False, max_length=200, label="Text")

    def filters(self) -> InboxFilters:
        """The filters asked for; those that do not parse are left out (an empty filter shows everything)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return InboxFilters(
            low_confidence=bool(data.get("low")),
            followed=Followed(data["followed"]) if data.get("followed") else None,
            agent_label=AgentLabel(data["agent"]) if data.get("agent") else None,
            intent=data.get("intent") or "",
            since=data.get("since"),
            until=data.get("until"),
            search=data.get("q") or "",
        )


class ReviewForm(forms.Form):
    """A verdict on the checked records (`record`, many) or on one row (`row` = "<id>:<verdict>", its intent in
    `intent_<id>`), so each row has its own buttons inside the one form of the table."""

    record = forms.TypedMultipleChoiceField(required=False, coerce=int, choices=[])
    verdict = forms.ChoiceField(required=False, choices=Verdict.choices)
    intent = forms.CharField(required=False, max_length=100)
    row = forms.RegexField(required=False, regex=r"^\d+:[a-z_]+$")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Any id parses; the service reads those that exist.
        self.fields["record"].valid_value = lambda value: str(value).isdigit()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("row"):
            record_id, verdict = data["row"].split(":", 1)
            data["record"], data["verdict"] = [int(record_id)], verdict
            data["intent"] = self.data.get(f"intent_{record_id}", "")
        if data.get("verdict") not in Verdict.values:
            raise forms.ValidationError("Choose what to do with the messages.")
        return data
