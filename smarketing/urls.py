from django.conf import settings
from django.urls import include, path

from smarketing.core.health import healthz

# Errors outside the API become styled pages inside the app's layout (API views answer problem+json).
handler403 = "smarketing.core.errors.permission_denied"
handler404 = "smarketing.core.errors.page_not_found"
handler500 = "smarketing.core.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("smarketing.accounts.urls")),
    path("settings/", include("smarketing.accounts.settings_urls")),
    path("settings/", include("smarketing.mail.settings_urls")),
    path("api/", include("smarketing.api.urls")),
    path("import/", include("smarketing.dataio.urls")),
    path("jobs/", include("smarketing.jobs.urls")),
    path("webhooks/", include("smarketing.webhooks.urls")),
    path("privacy/", include("smarketing.privacy.urls")),
    path("notifications/", include("smarketing.notifications.urls")),
    path("email/", include("smarketing.email.urls")),
    path("e/", include("smarketing.email.urls_public")),
    # Issue 9: lead capture, web tracking, scoring, workflows.
    path("forms/", include("smarketing.forms.urls")),
    path("f/", include("smarketing.forms.urls_public")),
    path("", include("smarketing.forms.urls_tracking")),
    path("scoring/", include("smarketing.scoring.urls")),
    path("workflows/", include("smarketing.workflows.urls")),
    path("handoff/", include("smarketing.process.urls")),
    # Issue 11: online scheduling (hosts' pages, and the public booking pages).
    path("scheduling/", include("smarketing.scheduling.urls")),
    path("meet/", include("smarketing.scheduling.urls_public")),
    # Issue 12: the content library and messaging guide, and the public viewer of share links.
    path("content/", include("smarketing.content.urls")),
    path("c/", include("smarketing.content.urls_public")),
    path("", include("smarketing.segments.urls")),
    path("mail/", include("smarketing.mail.urls")),
    path("", include("smarketing.metrics.urls")),
    path("", include("smarketing.crm.urls")),
]

# ingest (issue 9): the no-op baseline of bench/ingest_bench.py, only when BENCH_NOOP_VIEW=true.
if settings.BENCH_NOOP_VIEW:
    from smarketing.core.bench import noop

    urlpatterns.insert(0, path("bench/noop", noop, name="bench_noop"))
