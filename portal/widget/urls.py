from django.urls import path

from . import views

app_name = "widget"

urlpatterns = [
    path("", views.demo_bank_page, name="demo"),
    path("demo/", views.demo_bank_page, name="demo-alias"),
    path("demo/customer/", views.demo_customer_page, name="demo-customer"),
    path("demo/customer/assertion", views.demo_customer_assertion_view, name="demo-customer-assertion"),
]
