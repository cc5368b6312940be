# p2c: one image for the web server, the workers and beat; the command chooses (compose.yaml, the Procfile).
# Secrets come from the environment at run time; nothing secret is in the image.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    P2C_VAR_DIR=/var/lib/p2c \
    P2C_STATIC_ROOT=/app/static

WORKDIR /app
RUN groupadd --system --gid 10001 p2c \
    && useradd --system --uid 10001 --gid p2c --home-dir /var/lib/p2c --create-home --shell /usr/sbin/nologin p2c

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY manage.py gunicorn.conf.py Procfile ./
COPY p2c_project ./p2c_project
COPY connectors ./connectors
COPY integration ./integration

# The admin's CSS and scripts, served by WhiteNoise. With DEBUG on the settings need no secret; the files
# collected are the same either way.
RUN DEBUG=true P2C_VAR_DIR=/tmp/p2c-build python manage.py collectstatic --noinput \
    && rm -rf /tmp/p2c-build

USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "p2c_project.wsgi", "--config", "gunicorn.conf.py"]
