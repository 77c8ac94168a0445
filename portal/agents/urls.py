from django.urls import path

from . import views

app_name = "agents"

# Mounted under /agents/ by config.urls; sign-in and sign-out are django.contrib.auth's views at /accounts/.
urlpatterns = [
    path("", views.inbox, name="inbox"),
]
