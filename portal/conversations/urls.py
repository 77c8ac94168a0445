from django.urls import path

from conversations import views

app_name = "conversations"

urlpatterns = [
    path("api/widget/sessions", views.start_widget_session, name="widget-session"),
]
