"""ASGI entry point: `uvicorn config.asgi:application` (cwd portal/; see scripts/launcher.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Build the Django app (and so the app registry) before anything imports models through the consumers.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from conversations.consumers import CustomerConsumer  # noqa: E402
from handoff.consumers import AgentConsumer  # noqa: E402
from tuning.consumers import ManagerConsumer  # noqa: E402

# The customer socket is authenticated by its signed token alone (the widget may be embedded on the bank's own
# site). The agent and manager sockets ride on the login cookie, so they only take connections from our own
# origins.
# The ignores: django-stubs' path() takes views only, not the ASGI apps Channels routes (an overload was
# proposed in typeddjango/django-stubs PR 3354), and returns a URLPattern where types-channels wants its own
# pattern type.
websocket_routes = URLRouter(
    [
        path("ws/customer/", CustomerConsumer.as_asgi()),  # type: ignore[arg-type, list-item]
        path(  # type: ignore[list-item]
            "ws/agent/", AllowedHostsOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))
        ),
        path(  # type: ignore[list-item]
            "ws/manager/", AllowedHostsOriginValidator(AuthMiddlewareStack(ManagerConsumer.as_asgi()))
        ),
    ]
)

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_routes})
