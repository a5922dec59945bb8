"""The short way through Django for the public hit endpoints (web tracking, the email open pixel).

A page view beacon must be answered thousands of times a second on two cores (docs/scaling.md, "Tracking
ingest"). Django's whole stack costs more than the endpoint itself: sessions, CSRF, authentication, the login
gate, the user's time zone, messages, htmx, and the URL resolver's walk over every pattern. None of that serves an
anonymous beacon, which reads no session, sets no cookie and needs no CSRF token. So `FastPath`, wrapped around
Django's application in smarketing/wsgi.py, sends a few known paths through a Django handler of its own whose
middleware chain keeps only what shapes *their* answer (the security headers, the host check and the
disallowed-agents rule), and calls the view the URLconf names for the path directly.

The view is the same function either way, so the fast path answers and records exactly what Django's full path
would (core/tests/test_fastpath.py compares the two); only the middleware that does nothing for these views is
skipped. Any other path, or a fast path whose view is not installed, goes to Django untouched.

A view listed here must not read `request.user` or `request.session` and must be csrf-exempt: the middleware that
provide them are not in FAST_MIDDLEWARE.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.module_loading import import_string

# A sub-list, in the same order, of settings.MIDDLEWARE (checked when the fast path loads).
FAST_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "smarketing.core.middleware.SecurityHeadersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Exact paths: web tracking's beacon and pixel (forms/views_tracking.py).
FAST_PATHS = ("/t/hit", "/t/p.gif")
# Path prefixes, each with the one URL name allowed under it: the email open pixel (email/views/public.py).
FAST_PREFIXES = {"/e/o/": "email_public:open"}
MATCH = "smarketing.fastpath.match"  # the environ key carrying the resolved view to FastHandler


class FastHandler(WSGIHandler):
    """Django's WSGI handler (request_started/finished, the request and response objects, error pages) with the
    short middleware chain, calling the resolved view without the URL resolver's walk."""

    def __init__(self, routes: dict):
        self.routes = routes
        super().__init__()

    def load_middleware(self, is_async=False):
        from django.conf import settings

        names = [name for name in settings.MIDDLEWARE if name in FAST_MIDDLEWARE]
        if names != FAST_MIDDLEWARE:
            raise RuntimeError(f"core/fastpath.py: FAST_MIDDLEWARE must be in settings.MIDDLEWARE, in order: {names}")
        # None of these has process_view, process_template_response or process_exception hooks.
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for name in reversed(FAST_MIDDLEWARE):
            handler = convert_exception_to_response(import_string(name)(handler))
        self._middleware_chain = handler

    def _get_response(self, request):
        match = request.environ[MATCH]
        request.resolver_match = match
        # Django's UserTimezoneMiddleware is skipped: a thread that served a signed-in user before must not keep
        # that user's time zone for this request.
        timezone.deactivate()
        response = match.func(request, *match.args, **match.kwargs)
        self.check_response(response, match.func)
        return response


class FastPath:
    """WSGI middleware: FAST_PATHS and FAST_PREFIXES through FastHandler, everything else to `app`."""

    def __init__(self, app, paths=FAST_PATHS, prefixes=None):
        self.app = app
        self.paths = frozenset(paths)
        self.prefixes = dict(FAST_PREFIXES if prefixes is None else prefixes)
        self._handler: FastHandler | None = None
        self._loaded = False

    def _load(self) -> None:
        # On the first request, not at import: the URLconf (and so the views) is complete only once every app
        # is loaded. Two threads loading at once build two equal handlers; either is fine.
        routes = {}
        for path in self.paths:
            try:
                routes[path] = resolve(path)
            except Resolver404:
                continue  # not installed here: Django answers (404) as it would
        self._handler = FastHandler(routes)
        self._routes = routes
        self._loaded = True

    def _match(self, path: str):
        match = self._routes.get(path)
        if match is not None:
            return match
        for prefix, url_name in self.prefixes.items():
            if path.startswith(prefix):
                try:
                    match = resolve(path)
                except Resolver404:
                    return None
                return match if match.view_name == url_name else None
        return None

    def __call__(self, environ, start_response):
        if not self._loaded:
            self._load()
        match = self._match(environ.get("PATH_INFO", ""))
        if match is None:
            return self.app(environ, start_response)
        environ[MATCH] = match
        return self._handler(environ, start_response)
