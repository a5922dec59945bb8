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
    path("mail/", include("smarketing.mail.urls")),
    path("", include("smarketing.metrics.urls")),
    path("", include("smarketing.crm.urls")),
]
