"""The public form endpoints under /f/: hosted page, embed script, definition, submission, confirmation."""

from django.urls import path

from smarketing.forms import public

app_name = "forms_public"

urlpatterns = [
    # formscapture (issue 9)
    path("confirm/<str:token>", public.confirm, name="confirm"),
    path("<slug:public_id>/", public.page, name="page"),
    path("<slug:public_id>/submit", public.submit, name="submit"),
    path("<slug:public_id>/definition.json", public.definition, name="definition"),
    path("<slug:public_id>/embed.js", public.embed, name="embed"),
]
