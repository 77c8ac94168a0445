# The portal (Django + Channels under uvicorn); the same image runs the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app/portal:/app \
    SWITCHBOARD_DATA_DIR=/data

WORKDIR /app
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY docker/portal-entrypoint.sh /usr/local/bin/switchboard-entrypoint
COPY manage.py ./
COPY contracts/ contracts/
COPY portal/ portal/
# The demo page shows the bank's figures from the policy file the bot answers from (BANK_POLICY_FILE).
COPY bot/actions/bank_policy.yml bot/actions/bank_policy.yml

RUN useradd --system --create-home switchboard && mkdir -p /data && chown switchboard /data
USER switchboard
EXPOSE 8000
ENTRYPOINT ["switchboard-entrypoint"]
CMD ["uvicorn", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--ws", "websockets", "--log-level", "info", "config.asgi:application"]
