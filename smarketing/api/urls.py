"""/api/: the REST API v1, its schema and docs, and the personal API tokens page.

Each app's resources live in its own api/ module (crm/api/, timeline/api/, accounts/api/); this module assembles
them. The order of the registrations is the order of the paths in the schema and the docs.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from smarketing.accounts.api import views as accounts
from smarketing.api.problems import plain_problem
from smarketing.api.views import docs, tokens
from smarketing.api.views.base import ApiViewMixin
from smarketing.content.api import views as content  # the content library (issue 12)
from smarketing.crm.api import views as crm
from smarketing.email.api import views as email
from smarketing.forms.api import views as forms  # issue 9 formsbuilder
from smarketing.metrics import api as metrics
from smarketing.process.api import views as process  # the handoff (issue 10)
from smarketing.scheduling.api import views as scheduling  # online scheduling (issue 11)
from smarketing.scoring.api import predictive as scoring_predictive  # predictive (issue 9)
from smarketing.scoring.api import views as scoring  # scoring (issue 9)
from smarketing.segments.api import views as segments
from smarketing.timeline.api import views as timeline
from smarketing.workflows.api import views as workflows

app_name = "api"


class Router(SimpleRouter):
    """Paths work with or without the trailing slash (/contacts and /contacts/), for any HTTP method."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = Router()
router.register("contacts", crm.ContactViewSet, basename="contact")
router.register("companies", crm.CompanyViewSet, basename="company")
router.register("deals", crm.DealViewSet, basename="deal")
router.register("pipelines", crm.PipelineViewSet, basename="pipeline")
router.register("stages", crm.StageViewSet, basename="stage")
router.register("touchpoints", timeline.TouchpointViewSet, basename="touchpoint")
router.register("tasks", crm.TaskViewSet, basename="task")
router.register("notes", crm.NoteViewSet, basename="note")
router.register("properties", crm.PropertyDefinitionViewSet, basename="property")
router.register("users", accounts.UserViewSet, basename="user")
router.register("teams", accounts.TeamViewSet, basename="team")
router.register("segments", segments.SegmentViewSet, basename="segment")
router.register("lists", segments.ContactListViewSet, basename="list")
router.register("email-templates", email.EmailTemplateViewSet, basename="email-template")
router.register("campaigns", metrics.CampaignViewSet, basename="campaign")  # email's, with the report
# predictive (issue 9)
router.register("predictive-models", scoring_predictive.PredictiveModelViewSet, basename="predictive-model")
router.register("forms", forms.FormViewSet, basename="form")  # issue 9 formsbuilder
# scoring (issue 9)
router.register("score-groups", scoring.ScoreGroupViewSet, basename="score-group")
router.register("score-changes", scoring.ScoreChangeViewSet, basename="score-change")
# wfactions: workflows and their enrollments
# the handoff (issue 10)
router.register("handoffs", process.HandoffViewSet, basename="handoff")
router.register("rejection-reasons", process.RejectionReasonViewSet, basename="rejection-reason")
router.register("stage-governance", process.StageGovernanceViewSet, basename="stage-governance")
router.register("workflows", workflows.WorkflowViewSet, basename="workflow")
router.register("enrollments", workflows.EnrollmentViewSet, basename="enrollment")
# online scheduling (issue 11)
router.register("meeting-types", scheduling.MeetingTypeViewSet, basename="meeting-type")
router.register("meetings", scheduling.MeetingViewSet, basename="meeting")
# the content library (issue 12)
router.register("assets", content.AssetViewSet, basename="asset")
router.register("messages", content.MessageViewSet, basename="message")


class RootView(ApiViewMixin, APIView):
    """The resources of API v1."""

    schema = None  # not an operation worth documenting

    def get(self, request):
        return Response(
            {prefix: reverse(f"api:{basename}-list", request=request) for prefix, _, basename in router.registry}
        )


# CSRF-exempt: it changes nothing, and otherwise a POST with a valid token (no session, no CSRF cookie) to a
# mistyped path would get Django's HTML "CSRF verification failed" page instead of this 404.
@csrf_exempt
@login_not_required
def not_found(request, *args, **kwargs):
    return plain_problem(404, "not-found", f"No API endpoint at {request.path[:200]}. See /api/docs/.")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="api:docs"), name="index"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.docs, name="docs"),
    re_path(r"^v1/?$", RootView.as_view(), name="root"),
    path("v1/", include(router.urls)),
    # [\s\S], not ".": a path with an encoded newline (%0A) must not slip through to Django's HTML 404.
    re_path(r"^v1/[\s\S]*$", not_found),
    re_path(r"^(?!tokens/)[\s\S]*$", not_found),  # any other unknown /api/ path (the tokens page stays HTML)
]
