"""Per-token (or per-session user) rate limits.

The counters live in Django's default cache. With the default in-process cache each web process counts on
its own; configure a shared cache (CACHES) to make the limit global across processes.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from smarketing.api.models import ApiToken

# Requests per minute per token; a session user (the UI's own calls) and each anonymous IP get the same budget.
RATE_PER_MINUTE = settings.API_RATE_LIMIT_PER_MINUTE


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self):
        return f"{RATE_PER_MINUTE}/min"

    def allow_request(self, request, view):
        # Read at call time (not import time) so tests and operators can change the module value.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
