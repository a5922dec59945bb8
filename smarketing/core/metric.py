"""The query-object base every KPI is built on (the metrics app and the pillars' own reports, such as the
handoff's): validated parameters in, one query, a typed (cached) result.

A metric is a frozen dataclass whose fields are its parameters. Creating one validates them (`clean()`
raises ValueError with a message for people), so a bad month or an unknown owner never reaches SQL.
`result()` runs the metric's one query (`compute()`) and returns its typed result; metrics that may be a
little stale (team dashboards, the weekly report) set `cache_seconds` and are served from Django's cache,
keyed by the metric's name and its parameters. The dashboard, the API, exports and reports all call the same
class, so a figure means the same thing everywhere.
"""

import dataclasses
import hashlib
import json
from typing import ClassVar, Generic, TypeVar

from django.core.cache import cache

R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class Metric(Generic[R]):
    """Base class: subclasses add their parameters as dataclass fields and implement compute()."""

    name: ClassVar[str] = ""
    cache_seconds: ClassVar[int] = 0  # 0: always fresh (one indexed query); > 0: shared cache

    def __post_init__(self) -> None:
        self.clean()

    def clean(self) -> None:
        """Check the parameters; raise ValueError saying what is wrong."""

    def compute(self) -> R:
        """Run the metric's one query and build its result."""
        raise NotImplementedError

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def cache_key(self) -> str:
        raw = json.dumps(self.params(), sort_keys=True, default=str)
        return f"metric:{self.name}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"

    def result(self) -> R:
        if self.cache_seconds <= 0:
            return self.compute()
        key = self.cache_key()
        cached = cache.get(key)
        if cached is None:
            cached = self.compute()
            cache.set(key, cached, self.cache_seconds)
        return cached
