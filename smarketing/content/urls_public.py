"""The public share viewer: /c/<token>/ and its beacons (smarketing/content/views_public.py)."""

app_name = "content_public"
urlpatterns = []
