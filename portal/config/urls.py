from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from handoff.login import ThrottledAdminAuthenticationForm, staff_login

admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # Django's sign-in behind the flood limits (handoff/login.py); the rest of Django's auth views as they are.
    path("accounts/login/", staff_login, name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("conversations.urls")),
    path("agents/manager/oversight/", include("oversight.urls")),
    path("agents/manager/", include("tuning.urls")),
    path("agents/", include("agents.urls")),
    path("agents/", include("handoff.urls")),
    path("", include("widget.urls")),
]
