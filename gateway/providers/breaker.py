"""A per-source circuit breaker: after ``failures`` consecutive upstream failures, answer at once for ``reset_s``.

CLOSED → (failures in a row) → OPEN → (reset_s passes) → HALF_OPEN → one trial call → CLOSED or OPEN again.
Only failures of the backend count (unreachable, timeout, 5xx); a 4xx is the backend working as designed.
Small and synchronous on purpose: every call site is already in one event loop, so no lock is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.domain.records import CircuitState

__all__ = ["CircuitBreaker", "CircuitState"]


class CircuitBreaker:
    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self.reset_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allow(self) -> bool:
        """May a call go out now? In HALF_OPEN only one trial call at a time goes."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._trial_in_flight = False
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.threshold:
            self._opened_at = self._clock()

    def release_trial(self) -> None:
        """A trial call ended without a verdict (cancelled): let the next caller try."""
        self._trial_in_flight = False
