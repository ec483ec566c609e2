"""Slowing down password guessing: exponentially growing lockouts after repeated failures.

Failures are counted per key (the admin uses one key for the user name tried and one for the
client address). After :attr:`LoginThrottle.free_failures` failures in a row the key is locked
for :attr:`LoginThrottle.first_lockout` seconds, and each further failure locks it for twice as
long as the previous one, up to a bound. While a key is
locked, attempts are refused without checking the password and without extending the lock.
A successful login clears its keys; a key unused for :attr:`LoginThrottle.forget_after`
seconds starts again from zero. Times are seconds of a monotonic clock, passed in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable

import attrs

#: Failures in a row that lock a key for the first time.
FREE_FAILURES = 5
#: Length of the first lockout, in seconds; each further failure doubles it.
FIRST_LOCKOUT = 10.0
#: Longest lockout, in seconds.
MAX_LOCKOUT = 900.0
#: Seconds after its last failure when a key is forgotten.
FORGET_AFTER = 3600.0
#: Most keys remembered; the least recently failed are dropped first.
MAX_KEYS = 10_000


@attrs.define
class _Record:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed logins per key in bounded memory."""

    def __init__(
        self,
        *,
        free_failures: int = FREE_FAILURES,
        first_lockout: float = FIRST_LOCKOUT,
        max_lockout: float = MAX_LOCKOUT,
        forget_after: float = FORGET_AFTER,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if forget_after < max_lockout:
            raise ValueError("forget_after must be at least max_lockout")
        self.free_failures = free_failures
        self.first_lockout = first_lockout
        self.max_lockout = max_lockout
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._records: OrderedDict[Hashable, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def attempt(self, keys: Iterable[Hashable], now: float) -> float:
        """Start a login attempt: the seconds to wait if any key is locked, else ``0.0``.

        An attempt that goes ahead is counted as a failure straight away and cleared by
        :meth:`succeeded`, so concurrent guesses cannot all slip in before the first failure
        is recorded.
        """
        keys = list(keys)
        wait = max((self._locked_for(key, now) for key in keys), default=0.0)
        if wait > 0:
            return wait
        for key in keys:
            self._fail(key, now)
        return 0.0

    def succeeded(self, keys: Iterable[Hashable]) -> None:
        """The attempt started with :meth:`attempt` signed in: forget these keys."""
        for key in keys:
            self._records.pop(key, None)

    def _locked_for(self, key: Hashable, now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        return max(0.0, record.locked_until - now)

    def _fail(self, key: Hashable, now: float) -> None:
        record = self._records.pop(key, None)
        if record is None or now - record.last_failure >= self.forget_after:
            record = _Record()
        record.failures += 1
        record.last_failure = now
        beyond = record.failures - self.free_failures
        if beyond >= 0:
            lockout = min(self.max_lockout, self.first_lockout * 2.0 ** min(beyond, 64))
            record.locked_until = now + lockout
        self._records[key] = record
        self._bound(now)

    def _bound(self, now: float) -> None:
        records = self._records
        # The oldest failures sit at the front: drop the forgotten ones, then, if an attacker
        # spreads guesses over more keys than fit, the least recently failed.
        while records:
            oldest = next(iter(records.values()))
            if now - oldest.last_failure < self.forget_after and len(records) <= self.max_keys:
                return
            records.popitem(last=False)
