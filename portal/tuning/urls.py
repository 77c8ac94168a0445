from django.urls import path

from . import views

app_name = "tuning"

# Mounted under /agents/manager/ by config.urls.
urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/review/", views.review, name="review"),
    path("examples/", views.examples, name="examples"),
    path("examples/<int:example_id>/withdraw/", views.withdraw, name="withdraw"),
    path("examples/export/", views.export, name="export"),
]
