"""The hosts' pages: meeting types, availability, the calendar (filled by the UI part)."""

app_name = "scheduling"
urlpatterns: list = []
