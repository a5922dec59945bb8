"""The baseline of bench/ingest_bench.py: a view that does nothing, behind Django's whole middleware stack.

Mounted at /bench/noop only when BENCH_NOOP_VIEW=true (smarketing/urls.py); never on a real install.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
@login_not_required
def noop(request):
    return HttpResponse(status=204)
