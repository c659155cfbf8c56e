# One image for every app process: `surveillance serve` (default), and the
# one-shot `surveillance db upgrade` of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Used only when DATABASE_URL is unset (single-container trial): the
    # SQLite file and its generated secret need a folder the app user owns.
    DATA_DIR=/data

RUN groupadd --system --gid 10001 surveillance \
    && useradd --system --uid 10001 --gid surveillance --home-dir /app \
       --no-create-home --shell /usr/sbin/nologin surveillance \
    && install -d -o surveillance -g surveillance -m 0750 /data

WORKDIR /app

# Dependencies first, from pyproject alone, so a code change does not
# reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The app finds templates/ and static/ beside its package (app/services.py:
# ROOT), so the package must run from /app, laid out as in a checkout. A plain
# `pip install .` would copy app/ into site-packages, away from templates/ and
# static/, and every replica would die at start ("Directory .../static does not
# exist"); the editable install only adds the console script and a path hook
# to /app. Root owns /app: the app user can read it but not rewrite its code.
COPY . .
RUN pip install --no-deps -e . \
    && rm -rf build ./*.egg-info \
    && python -c "import app.services as s, sys; sys.exit(not (s.ROOT / 'static').is_dir())"

USER surveillance
EXPOSE 8000

# /healthz only says the process answers; /readyz would mark every app
# unhealthy at once whenever Redis or PostgreSQL blinks, and compose would
# then hold nginx back.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

CMD ["surveillance", "serve", "--host", "0.0.0.0", "--port", "8000"]
