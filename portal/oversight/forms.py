"""The dashboard's period: a day, a week, or a custom range of whole days (UTC)."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from oversight.selectors import Period

LONGEST_RANGE_DAYS = 731  # two years: a range the page still answers in about a second (docs/benchmarks.md)


class PeriodForm(forms.Form):
    range = forms.ChoiceField(
        required=False, choices=[("day", "Day"), ("week", "Week"), ("custom", "Custom")], initial="week"
    )
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Day or week's last day")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To (inclusive)")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            if not isinstance(start, date) or not isinstance(end, date):
                raise forms.ValidationError("A custom range needs its first and its last day.")
            if end < start:
                raise forms.ValidationError("The range ends before it starts.")
            if (end - start).days >= LONGEST_RANGE_DAYS:
                raise forms.ValidationError(f"A range is at most {LONGEST_RANGE_DAYS} days.")
        return data

    def period(self, today: date) -> Period:
        """The period asked for; by default (or when it does not parse) the seven days before today."""
        data = self.cleaned_data if self.is_valid() else {}
        yesterday = today - timedelta(days=1)
        last = data.get("day") or yesterday
        if data.get("range") == "day":
            return Period.days(last)
        if data.get("range") == "custom":
            return Period.days(data["start"], (data["end"] - data["start"]).days + 1)
        return Period.days(last - timedelta(days=6), 7)


class TopicAdoptForm(forms.Form):
    """What a topic's messages meant: one of the bot's intents (out of scope among them)."""

    intent = forms.ChoiceField(choices=[])

    def __init__(self, *args: object, intents: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["intent"].choices = [(i, i) for i in intents]  # type: ignore[attr-defined]


class NewIntentForm(forms.Form):
    """A name for the new intent a topic's messages become (services.INTENT_NAME checks it)."""

    name = forms.CharField(max_length=63, strip=True)
