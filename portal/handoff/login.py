"""The staff sign-ins (`/accounts/login/`, the admin's), with Django's forms and a flood limit in front:
sign-in attempts are counted per client address and per username (settings.RATE_LIMITS, docs/protocol.md
"Limits") before the password is checked, so a script cannot try passwords faster than the limits. Here
rather than in `agents` because the limits belong to `conversations`, which `agents` sits below."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError

from conversations import limits


class ThrottledAuthenticationForm(AuthenticationForm):
    """Counts the attempt against the limits first; past them, refuses it without checking the password."""

    rate_limited = False  # the template says why the sign-in was refused

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "").strip().lower()
        try:
            limits.check("logins_per_address", limits.request_client_key(self.request))
            limits.check("logins_per_username", limits.client_key(f"user:{username}"))
        except limits.RateLimited as exc:
            self.rate_limited = True
            raise ValidationError(
                "Too many sign-in attempts. Please try again in %(seconds)s seconds.",
                code="rate_limited",
                params={"seconds": exc.retry_after},
            ) from None
        return super().clean()


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    pass


staff_login = LoginView.as_view(authentication_form=ThrottledAuthenticationForm)
