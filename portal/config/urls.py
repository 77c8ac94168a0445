from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import URLPattern, URLResolver, include, path, re_path

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("conversations.urls")),
    path("agents/", include("agents.urls")),
    path("", include("widget.urls")),
]

if settings.SWITCHBOARD_SERVE_STATIC:
    # the ASGI server has no static file handler; serve app static files from their apps (a proxy may take this over).
    urlpatterns.append(re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}))
