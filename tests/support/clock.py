"""A clock a test moves by hand, for what takes one (``clock=``): breakers, TTL caches, token expiry."""

from __future__ import annotations

from gateway.providers.breaker import CircuitBreaker
from tests.support.gateway import Gateway


class FakeClock:
    """``clock()`` is the time; ``clock.advance(seconds)`` moves it. Starts far from zero, as monotonic clocks do."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def breaker_on_clock(gateway: Gateway, source: str) -> FakeClock:
    """Put ``source``'s circuit breaker of a running gateway on a clock of the test's (same threshold and reset
    time, still closed): the test advances it instead of sleeping through ``breaker_reset_s``."""
    clock = FakeClock()
    client = gateway.runtime.adapters[source].http
    client.breaker = CircuitBreaker(client.breaker.threshold, client.breaker.reset_s, clock=clock)
    return clock
