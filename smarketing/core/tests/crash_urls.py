"""The project's URLs plus a view that crashes, for the 500 page test (test_errors.py)."""

from django.urls import path

from smarketing.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401 (handlers are read by name)


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [path("crash/", crash), *urlpatterns]
