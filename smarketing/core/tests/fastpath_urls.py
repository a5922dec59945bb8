"""The URLconf of test_fastpath.py: the app's own, plus stand-in /t/hit and /t/p.gif views while web tracking's
(forms/views_tracking.py) are not installed. The stand-ins read what the real views read (the body, the query,
the headers, the cache), never the session or the user."""

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import HttpResponse, QueryDict
from django.urls import Resolver404, get_resolver, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from smarketing.core import ingest
from smarketing.urls import handler403, handler404, handler500  # noqa: F401 - the same error pages
from smarketing.urls import urlpatterns as app_urlpatterns

PIXEL = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501


def parse_hit(params, headers, *, now):
    """A trivial stand-in of forms.tracking.parse_hit: allow-listed, capped fields; DNT drops the hit."""
    if headers.get("dnt") == "1" or not params.get("url", "").startswith(("http://", "https://")):
        return None
    return {
        "vid": params.get("vid", "")[:32],
        "url": params["url"][:2000],
        "title": params.get("title", "")[:300],
        "occurred_at": now.isoformat(),
    }


def _accept(request, params):
    headers = {"dnt": request.headers.get("DNT", ""), "origin": request.headers.get("Origin", "")}
    record = parse_hit(params, headers, now=timezone.now())
    if record is not None:
        ingest.accept("page_view", record)


@csrf_exempt
@login_not_required
def hit(request):
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    cache.add("standin-hits", 0)
    cache.incr("standin-hits")
    _accept(request, QueryDict(request.body.decode("utf-8", "replace")).dict())
    response = HttpResponse(status=204)
    response["Vary"] = "Origin"
    if request.headers.get("Origin") == "https://www.example.com":
        response["Access-Control-Allow-Origin"] = "https://www.example.com"
    return response


@csrf_exempt
@login_not_required
def pixel(request):
    if request.method == "GET":
        _accept(request, request.GET.dict())
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


def _installed(url: str) -> bool:
    try:
        get_resolver("smarketing.urls").resolve(url)
        return True
    except Resolver404:
        return False


STANDING_IN = not _installed("/t/hit")
urlpatterns = list(app_urlpatterns)
if STANDING_IN:
    urlpatterns[:0] = [path("t/hit", hit, name="hit"), path("t/p.gif", pixel, name="pixel")]
