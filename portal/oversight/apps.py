from django.apps import AppConfig


class OversightConfig(AppConfig):
    """Managers watch the bot: the dashboard's figures, drift alerts. Reads conversations and tuning's NLU records;
    nothing below imports it."""

    name = "oversight"
    default_auto_field = "django.db.models.BigAutoField"
