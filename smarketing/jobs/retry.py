"""Retries with exponential backoff for jobs that fail for transient reasons.

    @task()
    @retrying(on=(ConnectionError, TimeoutError), max_attempts=5)
    def sync_contact(contact_id): ...

Each attempt is its own job result. When an attempt raises one of the `on` exceptions and attempts remain, the
same task is enqueued again with run_after = now + backoff and the attempt number in the reserved keyword
argument `_attempt`; the failed attempt ends with RetryScheduled (its cause is the original error), which the job
list shows as "retried". The last attempt fails with the original exception and a note "gave up after N
attempts". Other exceptions fail at once. A retried job must be idempotent: an attempt may have done part of its
work before failing.
"""

import functools
import random
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.module_loading import import_string

ATTEMPT_KWARG = "_attempt"


class RetryScheduled(Exception):
    """This attempt failed with a transient error; the next attempt is enqueued (see __cause__)."""


class WorkerLost(Exception):
    """The worker running this job stopped sending heartbeats before the job finished."""


RETRY_SCHEDULED_PATH = f"{RetryScheduled.__module__}.{RetryScheduled.__qualname__}"
WORKER_LOST_PATH = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"


def exponential_backoff(
    attempt: int,
    *,
    base: timedelta = timedelta(seconds=30),
    factor: float = 2.0,
    cap: timedelta = timedelta(hours=1),
    jitter: float = 0.1,
) -> timedelta:
    """Delay before attempt `attempt + 1`: base * factor**(attempt-1), capped, with ±jitter spread.

    The jitter keeps many jobs that failed together (an outage) from all retrying in the same second.
    """
    seconds = min(cap.total_seconds(), base.total_seconds() * factor ** max(attempt - 1, 0))
    if jitter:
        seconds *= 1 + random.uniform(-jitter, jitter)
    return timedelta(seconds=max(seconds, 0))


@dataclass(frozen=True)
class RetryPolicy:
    """How a task is retried: which errors, how many attempts, how long between them."""

    on: tuple[type[BaseException], ...]
    max_attempts: int
    base: timedelta
    factor: float
    cap: timedelta

    def delay(self, attempt: int) -> timedelta:
        return exponential_backoff(attempt, base=self.base, factor=self.factor, cap=self.cap)


def retrying(
    *,
    on: tuple[type[BaseException], ...] = (Exception,),
    max_attempts: int = 5,
    base: timedelta = timedelta(seconds=30),
    factor: float = 2.0,
    cap: timedelta = timedelta(hours=1),
):
    """Retry the decorated task function on `on` exceptions with exponential backoff. Put it below @task()."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    policy = RetryPolicy(on=tuple(on), max_attempts=max_attempts, base=base, factor=factor, cap=cap)

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            attempt = int(kwargs.pop(ATTEMPT_KWARG, 1) or 1)
            try:
                return func(*args, **kwargs)
            except policy.on as exc:
                if attempt >= policy.max_attempts:
                    exc.add_note(f"Gave up after {attempt} attempt{'s' if attempt != 1 else ''}.")
                    raise
                when = enqueue_retry(wrapper, args, kwargs, attempt + 1, policy.delay(attempt))
                raise RetryScheduled(
                    f"attempt {attempt} of {policy.max_attempts} failed ({type(exc).__name__}: {exc}); "
                    f"attempt {attempt + 1} scheduled for {when.isoformat(timespec='seconds')}"
                ) from exc

        wrapper.retry_policy = policy
        return wrapper

    return decorate


def enqueue_retry(func, args, kwargs, attempt: int, delay: timedelta):
    """Enqueue attempt number `attempt` of the task wrapping `func`, `delay` from now; returns its run time."""
    # The module-level name of a task function is bound to its Task (that is how workers find it too).
    task = import_string(f"{func.__module__}.{func.__qualname__}")
    when = timezone.now() + delay
    task.using(run_after=when).enqueue(*args, **{**kwargs, ATTEMPT_KWARG: attempt})
    return when


def policy_of(task) -> RetryPolicy | None:
    """The retry policy of a Task (None when it does not retry)."""
    return getattr(getattr(task, "func", None), "retry_policy", None)


def attempt_of(args_kwargs: dict) -> int:
    """The attempt number recorded in a DBTaskResult's args_kwargs."""
    try:
        return int((args_kwargs or {}).get("kwargs", {}).get(ATTEMPT_KWARG, 1))
    except (TypeError, ValueError, AttributeError):
        return 1
