from django.urls import path

from conversations import views
from conversations.events import RELAY_PATH

app_name = "conversations"

urlpatterns = [
    path("api/widget/sessions", views.start_widget_session, name="widget-session"),
    path(RELAY_PATH.lstrip("/"), views.relay_event, name="event-relay"),
]
