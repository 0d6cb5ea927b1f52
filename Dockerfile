# furikaeri: one process serving Telegram and LINE, with SQLite or PostgreSQL.
#
#   docker build -t furikaeri .
#   docker run --rm --env-file .env -v furikaeri-data:/data furikaeri db upgrade
#   docker run -d --env-file .env -v furikaeri-data:/data -p 127.0.0.1:8080:8080 furikaeri
#   docker run --rm --env-file .env -v furikaeri-data:/data furikaeri doctor
#
# The base image is pinned to Python 3.11 on Debian 12 (bookworm): patch releases and
# security fixes come with a rebuild, nothing else changes under you. For byte-for-byte
# reproducible builds pin the digest as well:
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest> .
# (`docker buildx imagetools inspect python:3.11-slim-bookworm` shows the digest.)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY prompts ./prompts
COPY locales ./locales
COPY migrations ./migrations
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FURIKAERI_HTTP_HOST=0.0.0.0 \
    FURIKAERI_HTTP_PORT=8080 \
    FURIKAERI_DATABASE_URL=sqlite+aiosqlite:////data/furikaeri.db
RUN useradd --create-home --uid 10001 furikaeri && mkdir /data && chown furikaeri /data
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl
# Not root: the process can write only /data and its home.
USER furikaeri
WORKDIR /home/furikaeri
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FURIKAERI_HTTP_PORT', '8080'), timeout=4)"]
# Exec form, no shell in between: `docker stop` sends SIGTERM to furikaeri itself, which
# finishes the messages in flight and exits 0. Any command works: `docker run … doctor`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["furikaeri"]
CMD ["run"]
