# The Rasa action server: rasa-sdk and the bot's custom actions (which import `contracts`), no Rasa.
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app/bot:/app

WORKDIR /app
# The same rasa-sdk that bot/requirements.txt's Rasa pins; PyYAML reads the bank's policy file
# (bot/actions/bank_policy.yml), and rasa-sdk does not bring it.
RUN pip install --no-cache-dir "rasa-sdk==3.6.2" "PyYAML>=6,<7"

COPY contracts/ contracts/
COPY bot/ bot/
WORKDIR /app/bot

RUN useradd --system rasa
USER rasa
EXPOSE 5055
CMD ["python", "-m", "rasa_sdk", "--actions", "actions", "--port", "5055"]
