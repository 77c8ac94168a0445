from django.apps import AppConfig


class WidgetConfig(AppConfig):
    """The demo bank page and the embeddable customer chat widget (static JS + CSS)."""

    name = "widget"
    verbose_name = "Customer widget"
