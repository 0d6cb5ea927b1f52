# furikaeri: one process serving Telegram and LINE, with SQLite or PostgreSQL.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY prompts ./prompts
COPY locales ./locales
COPY migrations ./migrations
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FURIKAERI_HTTP_HOST=0.0.0.0 \
    FURIKAERI_HTTP_PORT=8080 \
    FURIKAERI_DATABASE_URL=sqlite+aiosqlite:////data/furikaeri.db
RUN useradd --create-home --uid 10001 furikaeri && mkdir /data && chown furikaeri /data
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl
USER furikaeri
WORKDIR /home/furikaeri
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FURIKAERI_HTTP_PORT', '8080'), timeout=4)"
CMD ["furikaeri", "run"]
