"""Small pure parts of the operator console: version numbers for fingerprints, a replay's
states and its filter in words, and the README's first screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.api.replays import ReplayRefused, ReplayRequest, describe
from gateway.mappings.version_numbers import number_for
from gateway.store.records import State
from tests.support import ROOT

T0 = datetime(2026, 12, 1, tzinfo=UTC)
SAVED = [(1, "aaa", T0), (2, "bbb", T0 + timedelta(hours=1)), (3, "aaa", T0 + timedelta(hours=2))]


@pytest.mark.parametrize(
    ("fingerprint", "at", "number"),
    [
        ("aaa", T0 + timedelta(minutes=30), 1),  # before the rollback to its content: v1
        ("aaa", T0 + timedelta(hours=3), 3),  # after it: the rollback's v3
        ("bbb", T0 + timedelta(hours=1, minutes=1), 2),
        ("bbb", T0 - timedelta(hours=1), 2),  # saved after the attempt (clocks): the first
        ("ccc", T0, None),  # a file edit never saved as a version: no number
        (None, T0, None),
    ],
)
def test_an_attempt_gets_the_version_number_it_used(
    fingerprint: str | None, at: datetime, number: int | None
) -> None:
    assert number_for(SAVED, fingerprint, at) == number


def test_a_replay_defaults_to_the_states_a_replay_is_for() -> None:
    assert ReplayRequest().chosen_states() == [State.DEAD, State.PARKED, State.RETRYING]
    assert ReplayRequest(status=State.PARKED).chosen_states() == [State.PARKED]
    with pytest.raises(ReplayRefused, match=r"^status: replaying delivered"):
        ReplayRequest.model_validate({"status": None}).chosen_states()  # every state
    with pytest.raises(ReplayRefused, match=r"^states\[1\]: rejected deliveries cannot"):
        ReplayRequest(states=[State.DEAD, State.REJECTED]).chosen_states()
    with pytest.raises(ReplayRefused, match=r"^states: name at least one state"):
        ReplayRequest(states=[]).chosen_states()
    chosen = ReplayRequest(states=[State.DELIVERED], include_delivered=True).chosen_states()
    assert chosen == [State.DELIVERED]


def test_a_replay_says_its_filter_in_words() -> None:
    req = ReplayRequest(target="enkash", system="uniware", po_prefix="po01", reason="timeout",
                        since=T0, until=T0 + timedelta(days=1))  # fmt: skip
    assert describe(req, [State.DEAD]) == (
        "deliveries that are dead, to enkash, of messages from uniware, of POs starting with "
        '"po01" (any case), whose reason contains "timeout", received at or after '
        "2026-12-01T00:00:00Z, received before 2026-12-02T00:00:00Z"
    )
    assert describe(ReplayRequest(), [State.DEAD, State.PARKED]) == (
        "deliveries that are dead or parked, (no other filter: every one of them)"
    )


def test_the_readme_first_screen_says_how_to_get_uv() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:20])
    assert "pip install uv" in first_screen and "uv run pohub demo" in first_screen
