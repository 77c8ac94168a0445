#!/bin/sh
# The portal image's entrypoint (portal, worker, beat): refuse to run without a real secret key,
# so no container ever signs sessions or widget tokens with a made-up one.
set -e
if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    echo "switchboard: set DJANGO_SECRET_KEY (see docker/.env.example)" >&2
    exit 64
fi
exec "$@"
