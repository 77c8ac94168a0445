from django.apps import AppConfig


class TuningConfig(AppConfig):
    """Managers govern the bot: what it understood (the NLU inbox), corrections, training, evaluation, deploys."""

    name = "tuning"
    default_auto_field = "django.db.models.BigAutoField"
