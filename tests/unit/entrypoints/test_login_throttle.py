"""Failed sign-ins: free at first, then exponentially growing, bounded lockouts."""

from __future__ import annotations

import pytest

from fastapi_taskflow.entrypoints.fastapi.login_throttle import LoginThrottle

ALICE = [("user", "alice")]


def fail(throttle: LoginThrottle, times: int, now: float, keys: list[tuple[str, str]] = ALICE):
    for _ in range(times):
        assert throttle.attempt(keys, now) == 0.0


def test_the_first_failures_are_free_then_the_key_locks() -> None:
    throttle = LoginThrottle(free_failures=3, first_lockout=10.0)
    fail(throttle, 2, now=0.0)
    assert throttle.attempt(ALICE, 0.0) == 0.0  # the third failure locks

    assert throttle.attempt(ALICE, 1.0) == 9.0
    assert throttle.attempt(ALICE, 9.5) == 0.5
    assert throttle.attempt(ALICE, 10.0) == 0.0


def test_each_failure_after_a_lockout_doubles_it_up_to_the_bound() -> None:
    throttle = LoginThrottle(free_failures=1, first_lockout=10.0, max_lockout=60.0)
    now = 0.0
    lockouts = []
    for _ in range(5):
        assert throttle.attempt(ALICE, now) == 0.0
        wait = throttle.attempt(ALICE, now)
        lockouts.append(wait)
        now += wait

    assert lockouts == [10.0, 20.0, 40.0, 60.0, 60.0]


def test_refused_attempts_do_not_extend_the_lockout() -> None:
    throttle = LoginThrottle(free_failures=1, first_lockout=10.0)
    fail(throttle, 1, now=0.0)
    for second in range(1, 10):
        assert throttle.attempt(ALICE, float(second)) == 10.0 - second

    assert throttle.attempt(ALICE, 10.0) == 0.0


def test_success_forgets_the_keys() -> None:
    throttle = LoginThrottle(free_failures=2)
    fail(throttle, 1, now=0.0)
    throttle.succeeded(ALICE)

    fail(throttle, 1, now=0.0)
    assert throttle.attempt(ALICE, 0.0) == 0.0  # counted from zero again: second failure
    assert throttle.attempt(ALICE, 0.0) > 0


def test_any_locked_key_refuses_the_attempt() -> None:
    throttle = LoginThrottle(free_failures=2)
    address = ("client", "10.0.0.1")
    fail(throttle, 1, now=0.0, keys=[("user", "alice"), address])
    fail(throttle, 1, now=0.0, keys=[("user", "bob"), address])

    assert throttle.attempt([("user", "carol"), address], 0.0) > 0
    assert throttle.attempt([("user", "carol"), ("client", "10.0.0.2")], 0.0) == 0.0


def test_an_attempt_counts_before_its_answer_is_known() -> None:
    # Concurrent guesses all start before the first one failed: they must not all get in.
    throttle = LoginThrottle(free_failures=3)
    started = [throttle.attempt(ALICE, 0.0) for _ in range(10)]

    assert started.count(0.0) == 3


def test_keys_are_forgotten_after_a_quiet_period() -> None:
    throttle = LoginThrottle(
        free_failures=2, first_lockout=10.0, max_lockout=50.0, forget_after=100.0
    )
    fail(throttle, 2, now=0.0)

    fail(throttle, 2, now=100.0)  # a new series, which locks at its second failure again
    assert throttle.attempt(ALICE, 100.0) == 10.0


def test_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_keys=100, forget_after=1000.0)
    for index in range(1000):
        throttle.attempt([("user", f"user-{index}")], float(index) / 1000)

    assert len(throttle) == 100
    # The most recent keys are the ones kept.
    assert throttle.attempt([("user", "user-999")], 1.0) == 0.0
    assert len(throttle) == 100


def test_forgotten_keys_are_dropped_as_time_passes() -> None:
    throttle = LoginThrottle(forget_after=1000.0)
    for index in range(50):
        throttle.attempt([("user", f"user-{index}")], 0.0)

    throttle.attempt([("user", "late")], 1000.0)

    assert len(throttle) == 1


def test_forget_after_must_cover_the_longest_lockout() -> None:
    with pytest.raises(ValueError, match="forget_after"):
        LoginThrottle(max_lockout=900.0, forget_after=60.0)
