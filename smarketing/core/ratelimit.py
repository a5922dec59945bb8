"""A small fixed-window rate limit counted in Django's default cache, for public endpoints.

    if over_limit(f"forms:ip:{ip}", limit=10, window=60): answer 429

The counters live in the default cache: shared across web processes when CACHE_REDIS_URL is set, per process
otherwise (the limit then holds per process, which still stops a flood from one client). A fixed window lets a
client send up to twice the limit across a window boundary; that is the usual trade-off for one cache write
per request.
"""

import time

from django.core.cache import cache


def over_limit(key: str, *, limit: int, window: int = 60) -> bool:
    """Count one request under `key` in the current window; True when it is beyond `limit`."""
    bucket = f"ratelimit:{key}:{int(time.time() // window)}"
    if cache.add(bucket, 1, window * 2):
        return limit < 1
    try:
        return cache.incr(bucket) > limit
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, window * 2)
        return False
