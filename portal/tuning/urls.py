from django.urls import path

from . import model_views, views

app_name = "tuning"

# Mounted under /agents/manager/ by config.urls.
urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/review/", views.review, name="review"),
    path("examples/", views.examples, name="examples"),
    path("examples/<int:example_id>/withdraw/", views.withdraw, name="withdraw"),
    path("examples/export/", views.export, name="export"),
    path("models/", model_views.models, name="models"),
    path("models/rollback/", model_views.rollback, name="rollback"),
    path("models/<int:version_id>/", model_views.model_version, name="model_version"),
    path("models/<int:version_id>/deploy/", model_views.deploy_version, name="deploy"),
    path("training/", views.training, name="training"),
    path("training/retrain/", views.retrain, name="retrain"),
]
