from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from widget.demo_customer import DEMO_CUSTOMER_ID, DEMO_CUSTOMER_NAME, demo_customer_assertion, demo_enabled
from widget.policy import bank_facts


class DemoBankPage(TemplateView):
    template_name = "widget/demo_bank.html"
    signed_in = False  # the demo customer's page: the widget starts verified sessions

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if self.signed_in and not demo_enabled():
            raise Http404("the demo customer is off (SWITCHBOARD_DEMO_CUSTOMER)")
        return {
            **super().get_context_data(**kwargs),
            "facts": bank_facts(),
            "demo_customer": demo_enabled(),
            "customer": {"id": DEMO_CUSTOMER_ID, "name": DEMO_CUSTOMER_NAME} if self.signed_in else None,
        }


# The widget reads the CSRF cookie when it starts a session or fetches the demo customer's assertion.
demo_bank_page = ensure_csrf_cookie(DemoBankPage.as_view())
demo_customer_page = ensure_csrf_cookie(DemoBankPage.as_view(signed_in=True))


@require_POST  # CSRF-checked: only the demo page itself gets an assertion, as only a bank's own pages would
def demo_customer_assertion_view(request: HttpRequest) -> JsonResponse:
    """POST /demo/customer/assertion → {"assertion": JWT} for the demo customer (404 when the demo is off)."""
    if not demo_enabled():
        raise Http404("the demo customer is off (SWITCHBOARD_DEMO_CUSTOMER)")
    return JsonResponse({"assertion": demo_customer_assertion()})
