# Hookgate: one GraphQL API over UiPath, WorkflowGen, DRUID, Dixa and Auco webhooks.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md requirements.lock ./
COPY gateway ./gateway
COPY schema ./schema
COPY resolvers ./resolvers
COPY sandbox ./sandbox
# The same locked versions as `make run`, `make test` and CI.
RUN pip install -c requirements.lock . && useradd --system --uid 10001 hookgate
USER hookgate

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Configuration comes from HOOKGATE_CONFIG (a mounted TOML file) and HOOKGATE_* variables.
CMD ["hookgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
