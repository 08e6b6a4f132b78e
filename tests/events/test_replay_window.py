"""A captured UiPath delivery cannot be stored twice: once older than the event log's dedupe window (retention less a
margin), its signed ``Timestamp`` gets it refused as a replay; a fresh one, or one inside the window, is accepted."""

from __future__ import annotations

import time

from tests.support.events import uipath_delivery
from tests.support.gateway import Gateway

DAY = 86_400.0


async def test_a_capture_older_than_the_dedupe_window_is_refused(asgi_gateway: Gateway) -> None:
    retention = asgi_gateway.services.settings.events.retention_days
    assert retention == 30  # the default this test is about
    captured = uipath_delivery("captured", at=time.time() - 31 * DAY)
    response = await asgi_gateway.deliver("uipath", *captured)
    assert response.status_code == 401
    assert response.json()["error"] == "SIGNATURE_STALE"
    assert "replay" in response.json()["message"]
    # Just past the window (retention less its one-hour margin), though the original may still be in the log.
    edge = uipath_delivery("edge", at=time.time() - 30 * DAY + 1800)
    assert (await asgi_gateway.deliver("uipath", *edge)).status_code == 401
    assert await asgi_gateway.services.store.count() == 0


async def test_fresh_and_in_window_deliveries_are_accepted_once(asgi_gateway: Gateway) -> None:
    fresh = uipath_delivery("fresh")
    week_old = uipath_delivery("week-old", at=time.time() - 7 * DAY)
    for delivery in (fresh, week_old, fresh, week_old):
        assert (await asgi_gateway.deliver("uipath", *delivery)).status_code == 200
    assert await asgi_gateway.services.store.count() == 2


def test_the_window_stays_inside_retention_however_short() -> None:
    # A replay arriving just after its event was trimmed must fall outside the window, for any retention.
    from gateway.config import Settings
    from gateway.events.receiver import REPLAY_MARGIN_S, replay_window_s

    for retention_s in (2.0, 60.0, 3_600.0, 30 * DAY):
        settings = Settings.model_validate({"events": {"retention_days": retention_s / DAY}})
        window = replay_window_s(settings)
        assert window is not None
        assert 0 < window < retention_s
    default = replay_window_s(Settings())
    assert default == 30 * DAY - REPLAY_MARGIN_S
