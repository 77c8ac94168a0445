from django.urls import path

from . import views

app_name = "widget"

urlpatterns = [
    path("", views.demo_bank_page, name="demo"),
    path("demo/", views.demo_bank_page, name="demo-alias"),
]
