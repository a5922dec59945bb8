"""Lead scoring pages under /scoring/: groups and rules, recompute, contact cards and history, predictive."""

from django.urls import path

from smarketing.scoring import views

app_name = "scoring"

urlpatterns = [
    path("", views.index, name="index"),
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/<int:group_id>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:group_id>/delete/", views.group_delete, name="group_delete"),
    path("groups/<int:group_id>/rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("rules/<int:rule_id>/move/", views.rule_move, name="rule_move"),
    path("recompute/", views.recompute, name="recompute"),
    path("recompute/progress/", views.progress, name="progress"),
    path("contacts/<int:contact_id>/card", views.contact_card, name="contact_card"),
    path("contacts/<int:contact_id>/history", views.contact_history, name="contact_history"),
    path("contacts/<int:contact_id>/adjust", views.contact_adjust, name="contact_adjust"),
]

# predictive
from smarketing.scoring import views_predictive  # noqa: E402

urlpatterns += [
    path("predictive/", views_predictive.predictive_page, name="predictive"),
    path("predictive/retrain/", views_predictive.predictive_retrain, name="predictive_retrain"),
    path("predictive/contacts/<int:contact_id>/", views_predictive.predictive_contact_card, name="predictive_contact"),
]
