from django.urls import path

from . import views

app_name = "handoff"

# Mounted under /agents/ by config.urls, beside the agents app's pages.
urlpatterns = [
    path("audit/", views.audit, name="audit"),
    path("customer-data/", views.customer_data, name="customer-data"),
]
