from django.urls import path

from . import views

app_name = "oversight"

# Mounted under /agents/manager/oversight/ by config.urls.
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.csv", views.export, name="export"),
    path("replay/", views.replay, name="replay"),
    path("topics/", views.topics, name="topics"),
    path("topics/discover/", views.topics_discover, name="topics_discover"),
    path("topics/<int:topic_id>/adopt/", views.topic_adopt, name="topic_adopt"),
    path("topics/<int:topic_id>/dismiss/", views.topic_dismiss, name="topic_dismiss"),
    path("topics/<int:topic_id>/new-intent.yml", views.topic_new_intent, name="topic_new_intent"),
]
