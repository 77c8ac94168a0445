from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView


# The widget reads the CSRF cookie when it starts a session, should the session API require one.
demo_bank_page = ensure_csrf_cookie(TemplateView.as_view(template_name="widget/demo_bank.html"))
