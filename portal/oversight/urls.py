from django.urls import path

from . import views

app_name = "oversight"

# Mounted under /agents/manager/oversight/ by config.urls.
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.csv", views.export, name="export"),
]
