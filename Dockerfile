# syntax=docker/dockerfile:1
# The production image: gunicorn serving config.wsgi as a non-root user.
#   docker build -t issue-tracker .
# Configuration comes from the environment at run time (see .env.sample); nothing secret
# is baked in.

# --- Builder: every pinned requirement as a wheel, installed into a virtualenv ----------
FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY requirements/production.txt requirements/production.txt
RUN pip wheel --wheel-dir /wheels -r requirements/production.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheels -r requirements/production.txt

# --- Runtime: the interpreter, the virtualenv and the code; no compilers, no pip cache -----
FROM python:3.11-slim-bookworm AS runtime

ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PORT=8000

# A fixed numeric id, so Kubernetes' runAsNonRoot can verify it without a name lookup.
RUN groupadd --system --gid 10001 appuser \
    && useradd --system --uid 10001 --gid appuser --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin appuser

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Owned by root and read-only to appuser: the running service cannot change its own code.
COPY . .

# Hashed, compressed static files for WhiteNoise. The base settings need no secrets; the
# placeholder only satisfies a library that reads SECRET_KEY at import and is not kept.
RUN SECRET_KEY=collectstatic-only DJANGO_SETTINGS_MODULE=config.settings.base \
    python manage.py collectstatic --noinput

# Exports and uploaded imports when they are kept on disk (TRANSFERS_ROOT; Compose mounts a
# volume here, which takes this owner): the one folder the service writes.
RUN mkdir -p /var/lib/tracker/transfers && chown 10001:10001 /var/lib/tracker/transfers

USER 10001:10001
EXPOSE 8000

# Liveness only: /health touches neither database nor Redis (readiness is /ready).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "config.wsgi"]
