"""Liveness of the things Smarketing needs: the database and at least one worker."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone

from smarketing.core.models import WorkerHeartbeat


@login_not_required
def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # a health check reports every failure, whatever its type
        checks["database"] = f"error: {type(exc).__name__}"
        return JsonResponse({"status": "error", "checks": checks}, status=503)
    now = timezone.now()
    if WorkerHeartbeat.objects.alive(now).exists():
        checks["worker"] = "ok"
    else:
        newest = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
        if newest is None:
            checks["worker"] = "error: no worker has reported"
        else:
            checks["worker"] = f"error: last heartbeat {int((now - newest).total_seconds())}s ago"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)
