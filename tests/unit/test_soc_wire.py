"""SOC notifications without sockets: Standard Webhooks signing checked by the `standardwebhooks`
package, the payload's content, the receiver's verification on lab time, and the retry schedule."""

# covers: S12, S17

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from appliance.cloud.delivery import RetryPolicy
from bwlab.clock import system_time
from bwlab.soc_receiver import verify
from bwlab.wire import webhooks

META = {
    "id": "3f1c0e7a9b2d4c6e8f0a1b2c3d4e5f60",
    "org_id": "org_1",
    "system_id": "sys_1",
    "serial": "B8A44F000101",
    "user_id": "cu_anna",
    "user_name": "Anna Berg",
    "reason": "record",
    "region": "eu",
    "mime": "video/mp4",
    "started_at": 1_800_000_000.0,
    "ended_at": 1_800_000_095.5,
    "duration": 95.5,
    "chunks": 300,
    "live": False,
    "acknowledged_by": "acc_op",
    "acknowledged_at": 1_800_000_010.0,
    "wrapped_key": {"epk": "BASE64-EPHEMERAL-KEY", "wrapped": "SECRET-WRAPPED-CONTENT-KEY"},
}


def test_a_signature_made_here_verifies_with_the_standardwebhooks_package():
    secret = webhooks.new_secret()
    body = webhooks.payload("stream.started", META, system_time())
    headers = webhooks.headers("msg_1", system_time(), body, secret)
    assert Webhook(secret).verify(body, headers)["data"]["user_name"] == "Anna Berg"
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)  # another secret
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"Anna", b"Anne"), headers)  # an altered body


def test_the_signature_is_the_standard_construction():
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    sig = webhooks.sign(secret, "msg_x", 1_700_000_000, b'{"a":1}')
    expected = Webhook(secret).sign("msg_x", datetime.fromtimestamp(1_700_000_000, tz=UTC), '{"a":1}')
    assert sig == expected and sig.startswith("v1,")


def test_unsigned_integrations_send_no_signature_header():
    h = webhooks.headers("msg_1", 1_800_000_000.7, b"{}", None)
    assert h == {"Content-Type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": "1800000000"}


@pytest.mark.parametrize("bad", ["", "secret", "whsec_", "whsec_!!!!", "whsec_" + base64.b64encode(b"short").decode()])
def test_malformed_secrets_are_refused(bad):
    with pytest.raises(ValueError):
        webhooks.secret_key(bad)


def test_the_payload_is_s17_metadata_in_clear_and_never_a_key():
    started = json.loads(webhooks.payload("stream.started", {**META, "ended_at": None}, 1_800_000_001.0))
    assert started["type"] == "stream.started" and started["timestamp"] == "2027-01-15T08:00:01.000Z"
    assert started["data"] == {
        "stream_id": META["id"],
        "organization_id": "org_1",
        "system_id": "sys_1",
        "user_id": "cu_anna",
        "user_name": "Anna Berg",
        "region": "eu",
        "start": "2027-01-15T08:00:00.000Z",
        "end": None,
        "duration": None,
    }
    ended = json.loads(webhooks.payload("stream.ended", META, 1_800_000_096.0))["data"]
    assert ended["end"] == "2027-01-15T08:01:35.500Z" and ended["duration"] == 95.5
    acked = json.loads(webhooks.payload("stream.acknowledged", META, 1_800_000_010.0))["data"]
    assert acked["acknowledged_by"] == "acc_op"
    for event in webhooks.EVENT_TYPES:
        raw = webhooks.payload(event, META, 1_800_000_100.0)
        assert b"WRAPPED" not in raw and b"EPHEMERAL" not in raw and b"B8A44F" not in raw


def test_event_ids_are_stable_per_event():
    a = webhooks.event_id("stream.started", META["id"])
    assert a == webhooks.event_id("stream.started", META["id"]) and a.startswith("msg_")
    assert a != webhooks.event_id("stream.ended", META["id"])
    assert webhooks.event_id("stream.acknowledged", META["id"], "1.0") != webhooks.event_id(
        "stream.acknowledged", META["id"], "2.0"
    )


def test_a_receiver_on_lab_time_verifies_a_notification_from_the_future():
    """After time travel the notification's timestamp is lab time, days ahead of the system clock;
    the package alone would call it too new, a receiver that follows the lab accepts it."""
    secret = webhooks.new_secret()
    lab_now = system_time() + 6 * 86400
    body = webhooks.payload("stream.started", META, lab_now)
    headers = webhooks.headers("msg_2", lab_now, body, secret)
    with pytest.raises(WebhookVerificationError, match="too new"):
        Webhook(secret).verify(body, headers)
    assert verify(secret, body, headers, lab_now + 2)["type"] == "stream.started"
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(secret, body, headers, lab_now + 400)
    with pytest.raises(WebhookVerificationError, match="No matching"):
        verify(webhooks.new_secret(), body, headers, lab_now)


def test_backoff_doubles_from_ten_seconds_caps_at_an_hour_and_gives_up_after_a_day():
    p = RetryPolicy()
    assert [p.delay(n) for n in range(1, 11)] == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert p.delay(60) == 3600
    created = 1000.0
    now, schedule = created, []
    for attempts in range(1, 101):
        nxt = p.next_attempt(created, attempts, now)
        if nxt is None:
            break
        schedule.append(nxt - created)
        now = nxt
    assert schedule[:4] == [10, 30, 70, 150]
    assert schedule[-1] <= 24 * 3600 < schedule[-1] + 3600
    assert len(schedule) == 31  # retries: 9 doubling waits (5110 s in all), then 22 hourly ones; 32 attempts
