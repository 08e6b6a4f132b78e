# Hookgate: one GraphQL API over UiPath, WorkflowGen, DRUID, Dixa and Auco webhooks.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md LICENSE requirements.lock ./
COPY gateway ./gateway
COPY schema ./schema
COPY resolvers ./resolvers
COPY sandbox ./sandbox
# The same locked versions as `make run`, `make test` and CI. The process runs as a non-root user (10001) that can
# write only to /data.
RUN pip install -c requirements.lock . \
 && groupadd --system --gid 10001 hookgate \
 && useradd --system --uid 10001 --gid hookgate --no-create-home --shell /usr/sbin/nologin hookgate \
 && mkdir /data && chown hookgate:hookgate /data

# The data directory is the working directory: the default store, sqlite:///hookgate.db, is /data/hookgate.db. Mount
# a volume there to keep the event log across containers. A mounted configuration's `store` (or HOOKGATE_STORE)
# still decides; the image sets no HOOKGATE_STORE, since the environment wins over the file and would silently
# replace a configured Redis store.
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001

EXPOSE 8000
# Ready, not merely alive: /readyz answers 503 while the store does not answer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
# Configuration comes from HOOKGATE_CONFIG (a mounted TOML file) and HOOKGATE_* variables. The container has its own
# network, so the gateway listens on every interface of it; with no API key configured, `hookgate serve` keeps to
# 127.0.0.1 (unreachable from outside the container): configure a key to publish the port.
CMD ["hookgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
