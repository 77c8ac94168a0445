# The Rasa server, with the project's spaCy pipeline built and the model trained at build time.
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app/bot:/app \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app
COPY bot/requirements.txt bot/requirements-nodeps.txt bot/
RUN pip install --no-cache-dir -r bot/requirements.txt \
    && pip install --no-cache-dir --no-deps -r bot/requirements-nodeps.txt

COPY contracts/ contracts/
COPY bot/ bot/
WORKDIR /app/bot
RUN python nlp/build_spacy_pipeline.py --output spacy_pipeline \
    && rasa train --out models --fixed-model-name switchboard

RUN useradd --system --create-home rasa && chown -R rasa /app/bot
USER rasa
EXPOSE 5005
# endpoints.production.yml: Redis lock store and tracker store; action server URL from ACTION_SERVER_URL.
# Its HTTP API (trackers, restarts) only with RASA_TOKEN, which the portal sends; no token, no start.
CMD ["sh", "-c", "test -n \"$RASA_TOKEN\" || { echo 'switchboard: set RASA_TOKEN' >&2; exit 64; }; exec rasa run --enable-api --auth-token \"$RASA_TOKEN\" -m models/switchboard.tar.gz --port 5005 --endpoints endpoints.production.yml"]
