from typing import Any

from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView

from widget.policy import bank_facts


class DemoBankPage(TemplateView):
    template_name = "widget/demo_bank.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "facts": bank_facts()}


# The widget reads the CSRF cookie when it starts a session, should the session API require one.
demo_bank_page = ensure_csrf_cookie(DemoBankPage.as_view())
