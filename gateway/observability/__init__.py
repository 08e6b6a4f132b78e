"""What an operator watches, one concern per module:

- ``metrics``: Prometheus metrics, one registry per runtime (``Metrics``), the GraphQL extension that counts
  operations, and the upstream observer given to every ``UpstreamClient``;
- ``logs``: one handler for structlog's and the standard library's records, JSON lines or a terminal's;
- ``access``: request ids bound to every line of a request, and one access line per request;
- ``tracing``: optional OpenTelemetry spans;
- ``redaction``: the one place that knows what a secret looks like, applied to every log record.

Nothing here holds process-wide state of its own: metrics belong to a runtime; logging and the record factory are
the process's, configured by the CLI or the app at start.
"""
