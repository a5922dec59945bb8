"""The content library's pages. Each part keeps its own url module; all share the "content" namespace."""

from smarketing.content import urls_files, urls_guide, urls_library, urls_report, urls_share

app_name = "content"
urlpatterns = [
    *urls_library.urlpatterns,
    *urls_files.urlpatterns,
    *urls_guide.urlpatterns,
    *urls_report.urlpatterns,
    *urls_share.urlpatterns,
]
