"""The upload pace rule on its own clock: a minimum rate over a sliding window, a grace time, a deadline."""

from __future__ import annotations

import pytest

from plasticvision.server.middleware.body_pace import BodyPace, PaceRule
from plasticvision.server.sessions.ids import SessionIds, log_name

RULE = PaceRule(min_bytes_per_s=1000, window_s=10, grace_s=5, deadline_s=600)


def test_nothing_arriving_is_due_when_the_grace_time_ends():
    assert BodyPace(RULE, started=100.0).next_due() == 105.0


def test_a_fast_start_buys_one_window_not_a_day():
    pace = BodyPace(RULE, started=0.0)
    pace.received(1.0, 50_000_000)  # 50 MB at once: a whole-request average would allow 50,000 s more
    assert pace.next_due() == 11.0  # it leaves the window 10 s after it came


def test_a_steady_body_stays_due_one_window_after_its_oldest_needed_bytes():
    pace = BodyPace(RULE, started=0.0)
    for second in range(1, 30):
        pace.received(float(second), 2000)  # 2 kB/s: twice the minimum
    assert pace.next_due() == 35.0  # chunks 25-29 (10 kB) meet 1 kB/s x 10 s until the one of second 25 leaves


def test_no_body_outlives_the_deadline():
    pace = BodyPace(PaceRule(1000, 10, 5, deadline_s=20), started=0.0)
    pace.received(19.0, 10_000_000)
    assert pace.next_due() == 20.0 and pace.past_deadline(20.0)


def test_a_rule_with_a_zero_limit_is_refused():
    with pytest.raises(ValueError, match="positive"):
        PaceRule(0, 10, 5, 600)


def test_issued_ids_are_unguessable_and_checked_by_every_replica_that_shares_the_secret():
    here, there, other = SessionIds(b"shared"), SessionIds(b"shared"), SessionIds(b"another")
    ids = {here.mint() for _ in range(100)}
    assert len(ids) == 100 and all(there.issued(session) for session in ids)
    assert not any(other.issued(session) for session in ids)
    nonce, tag = next(iter(ids)).split(".")
    assert not here.issued(f"{nonce}.{tag[:-1]}A" if tag[-1] != "A" else f"{nonce}.{tag[:-1]}B")
    assert not here.issued("me") and not here.issued(f"{nonce}.") and not here.issued(f".{tag}")
    assert log_name(nonce + "." + tag).startswith("s-") and nonce not in log_name(nonce + "." + tag)
