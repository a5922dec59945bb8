"""The predictive scoring pages: /scoring/predictive/ (admins and managers) and each contact's card (anyone
who may see the contact), loaded by htmx from the contact page."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from smarketing.accounts.access import is_admin, require_manager_or_admin
from smarketing.crm import access as crm_access
from smarketing.crm.models import Contact
from smarketing.scoring.models import ModelStatus, PredictiveModel, PredictiveScore
from smarketing.scoring.predictive.train import auc_words, request_retrain

HISTORY = 20  # training runs shown
STRONGEST = 12  # features in the chart
TOP_CONTACTS = 10


def _strongest(model: PredictiveModel | None) -> list[dict]:
    """The features with the largest coefficients, each with its weight relative to the strongest (= 100)."""
    if model is None or not model.parameters.get("features"):
        return []
    ranked = sorted(model.parameters["features"], key=lambda f: -abs(f["coef"]))[:STRONGEST]
    top = abs(ranked[0]["coef"]) or 1.0
    return [
        {"label": f["label"], "coef": f["coef"], "weight": round(100 * f["coef"] / top)}
        for f in ranked
        if f["coef"] != 0
    ]


@require_GET
def predictive_page(request):
    require_manager_or_admin(request.user, "Only admins and managers can open the predictive model's page.")
    runs = list(PredictiveModel.objects.select_related("trained_by").order_by("-trained_at", "-id")[:HISTORY])
    active = next((run for run in runs if run.active), None)
    if active is None:
        active = PredictiveModel.objects.filter(active=True).first()
    latest = runs[0] if runs else None
    strongest = _strongest(active)
    top_scores = []
    if active is not None:
        top_scores = list(
            PredictiveScore.objects.select_related("contact", "contact__company").order_by("-probability")[
                :TOP_CONTACTS
            ]
        )
    charts = {
        "features": {
            "type": "bar",
            "horizontal": True,
            "labels": [f["label"] for f in strongest],
            "datasets": [{"label": "Weight (strongest = 100)", "data": [f["weight"] for f in strongest]}],
        }
    }
    return render(
        request,
        "scoring/predictive/page.html",
        {
            "active": active,
            "latest": latest,
            "runs": runs,
            "strongest": strongest,
            "top_scores": top_scores,
            "charts": charts,
            "auc_words": auc_words(active.auc if active else None),
            "latest_is_active": latest is not None and active is not None and latest.pk == active.pk,
            "can_retrain": is_admin(request.user),
            "min_outcomes": settings.PREDICTIVE_MIN_OUTCOMES,
            "Status": ModelStatus,
        },
    )


@require_POST
def predictive_retrain(request):
    request_retrain(request.user)  # admins only: PermissionDenied otherwise
    messages.success(request, "Retraining started in the background: the new run appears below in a minute or two.")
    return redirect("scoring:predictive")


@require_GET
def predictive_contact_card(request, contact_id: int):
    contact = get_object_or_404(Contact.objects.only("id", "owner_id", "first_name", "last_name"), pk=contact_id)
    crm_access.require(request.user, "view", contact)
    score = PredictiveScore.objects.select_related("model").filter(contact_id=contact.pk).first()
    active = score.model if score is not None and score.model.active else None
    if active is None:
        active = PredictiveModel.objects.filter(active=True).first()
    latest = None if active is not None else PredictiveModel.objects.first()
    return render(
        request,
        "scoring/predictive/_contact_card.html",
        {
            "contact": contact,
            "score": score,
            "active": active,
            "latest": latest,
            "percent": round(score.probability * 100) if score else None,
            "auc_words": auc_words(active.auc if active else None),
        },
    )
