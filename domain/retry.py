"""How long to wait before each retry."""

from __future__ import annotations

import math

import attrs

# A finite stand-in for "forever" (about 3e292 years), so waits stay usable numbers.
_LONGEST_WAIT = 1e300


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _non_negative_int(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


def _optional_non_negative(
    _inst: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise ValueError(f"{attribute.name} must be None or a finite number >= 0, got {value!r}")


def _fraction(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When a failed attempt is tried again, and after how long.

    The n-th retry (n starting at 1) waits ``delay * backoff ** (n - 1)`` seconds, capped at
    ``max_delay`` when one is set. With ``jitter`` above zero, each wait is shortened by a random
    fraction of up to ``jitter`` of itself, so that many tasks failing together do not retry in
    lock-step; jitter never makes a wait longer than the cap.
    """

    #: Additional attempts after the first failure: 3 means up to 4 attempts in all.
    retries: int = attrs.field(default=0, validator=_non_negative_int)
    #: Seconds before the first retry.
    delay: float = attrs.field(default=0.0, converter=float, validator=_non_negative)
    #: Multiplier applied to the delay on each further retry.
    backoff: float = attrs.field(default=1.0, converter=float, validator=_positive)
    #: Upper bound of any single wait, in seconds.
    max_delay: float | None = attrs.field(default=None, validator=_optional_non_negative)
    #: Fraction (0 to 1) of each wait that may be randomly taken off.
    jitter: float = attrs.field(default=0.0, converter=float, validator=_fraction)

    @property
    def max_attempts(self) -> int:
        """Total number of attempts, the first one included."""
        return self.retries + 1

    def allows_retry(self, failed_attempt: int) -> bool:
        """Whether another attempt follows the failure of attempt ``failed_attempt`` (1-based)."""
        return failed_attempt < self.max_attempts

    def delay_before(self, retry_number: int, random_fraction: float = 0.0) -> float:
        """Seconds to wait before retry number ``retry_number`` (1 for the first retry).

        ``random_fraction`` is a number in ``[0, 1)`` supplied by the caller, which keeps this
        function pure; it only matters when ``jitter`` is set.
        """
        if retry_number < 1:
            raise ValueError(f"retry_number starts at 1, got {retry_number}")
        if self.delay == 0.0:
            return 0.0
        try:
            wait = self.delay * self.backoff ** (retry_number - 1)
        except OverflowError:
            wait = math.inf
        cap = self.max_delay if self.max_delay is not None else math.inf
        wait = min(wait, cap, _LONGEST_WAIT)
        return wait * (1.0 - self.jitter * random_fraction)

    def schedule(self) -> list[float]:
        """The waits before each retry, without jitter: ``len() == retries``."""
        return [self.delay_before(n) for n in range(1, self.retries + 1)]
