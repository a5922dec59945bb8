"""The public booking pages under /meet/ (filled by the UI part)."""

app_name = "meet"
urlpatterns: list = []
