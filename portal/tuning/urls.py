from django.urls import path

from . import views

app_name = "tuning"

# Mounted under /agents/manager/ by config.urls.
urlpatterns = [
    path("", views.home, name="home"),
]
