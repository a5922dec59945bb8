"""/api/v1/assets (the content library: list, read with versions and reviews, create a URL asset, change the
metadata, and the review transitions submit / approve / request-changes / retire / restore) and /api/v1/messages
(the messaging guide, the same shape).

Everyone signed in reads the whole library, drafts too (content/access.py). Writes go through content.services
and content.guide with the rules of the pages: a read-only user or token gets 403, so does an owner approving
their own asset (unless an admin allowed it) or anyone who is not a named reviewer or an admin; a transition that
does not apply now (nothing in review, a retired asset) is a 400 saying why.
"""

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, Subquery
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.accounts.models import User
from smarketing.api.views.base import ApiViewSet
from smarketing.content import access, guide, services
from smarketing.content.api.filters import AssetFilter, MessageFilter
from smarketing.content.api.serializers import (
    AssetDetailSerializer,
    AssetInputSerializer,
    AssetSerializer,
    AssetUpdateSerializer,
    ChangesInputSerializer,
    DecisionInputSerializer,
    MessageDetailSerializer,
    MessageInputSerializer,
    MessageSerializer,
    MessageUpdateSerializer,
)
from smarketing.content.models import (
    Asset,
    AssetFunnelStage,
    AssetVersion,
    Message,
    MessageRevision,
    Persona,
    Product,
    Review,
)
from smarketing.core.models import Origin
from smarketing.crm.models import Stage


def _owner(data: dict) -> None:
    """The `owner` id of a write, as the user the services expect."""
    if "owner" not in data:
        return
    user = User.objects.filter(pk=data["owner"]).first()
    if user is None:
        raise ValidationError({"owner": "No such user."})
    data["owner"] = user


def _ids_only(model):
    # Tags are read as ids: the prefetch loads nothing else, and sorts by id (not by the model's ordering, which for
    # stages would join the pipelines).
    return model.objects.only("pk").order_by("pk")


class _ContentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = {"updated_at": "updated_at", "created_at": "created_at", "title": "title"}
    detail_serializer_class = None
    route_name = ""

    def get_serializer_class(self):
        return self.detail_serializer_class if self.action != "list" else self.serializer_class

    def respond(self, obj, code: int = 200) -> Response:
        obj = self.get_queryset().get(pk=obj.pk)
        headers = {"Location": reverse(f"api:{self.route_name}-detail", args=[obj.pk])} if code == 201 else {}
        return Response(self.detail_serializer_class(obj, context=self.get_serializer_context()).data, code,
                        headers=headers)  # fmt: skip

    def _input(self, serializer_class, *, partial: bool = False) -> dict:
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        _owner(data)
        return data


@extend_schema_view(
    list=extend_schema(
        summary="List assets",
        description="The whole library, drafts too. Filter by status, asset_type, owner, deal_stage, persona, "
        "product, funnel_stage, language, q (part of the title) and updated_at_after / updated_at_before.",
    ),
    retrieve=extend_schema(summary="Get an asset with its versions (newest first) and review decisions"),
    create=extend_schema(
        summary="Create a URL asset (a draft with version 1)",
        description="Files are uploaded in the app (Library → New asset); the API adds assets that are a web "
        "address (a video, a blog post) and changes any asset's metadata.",
        request=AssetInputSerializer,
        responses={201: AssetDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an asset's metadata and tags",
        description="Its owner, their manager or an admin. Lists (deal_stages, personas, ...) replace the ones "
        "stored. A new expiry date gets its own reminder.",
        request=AssetUpdateSerializer,
        responses={200: AssetDetailSerializer},
    ),
)
class AssetViewSet(_ContentViewSet):
    serializer_class = AssetSerializer
    detail_serializer_class = AssetDetailSerializer
    filterset_class = AssetFilter
    route_name = "asset"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Asset.objects.none()
        access.require_see(self.request.user)
        queryset = Asset.objects.select_related("published_version").prefetch_related(
            Prefetch("deal_stages", queryset=_ids_only(Stage)),
            Prefetch("personas", queryset=_ids_only(Persona)),
            Prefetch("products", queryset=_ids_only(Product)),
            Prefetch("reviewers", queryset=_ids_only(User)),
            Prefetch("funnel_stages", queryset=AssetFunnelStage.objects.order_by("id")),
        )
        if self.action != "list":
            queryset = queryset.prefetch_related(
                Prefetch("versions", queryset=AssetVersion.objects.order_by("-number")),
                Prefetch("reviews", queryset=Review.objects.order_by("-decided_at", "-id")),
            )
        return queryset

    def create(self, request):
        data = self._input(AssetInputSerializer)
        asset = services.create_asset(request.user, origin=Origin.API, **data)
        return self.respond(asset, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        asset = self.get_object()
        data = self._input(AssetUpdateSerializer, partial=True)
        return self.respond(services.update_asset(asset, request.user, origin=Origin.API, **data))

    @extend_schema(
        summary="Submit the latest version for review (its reviewers are notified)",
        description="An approved asset stays approved and shareable while its new version is reviewed.",
        request=None,
        responses={200: AssetDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        asset = self.get_object()
        services.submit_for_review(asset, request.user, origin=Origin.API)
        return self.respond(asset)

    @extend_schema(
        summary="Approve the version in review: it becomes the one every share link serves",
        description="A named reviewer or an admin; never the owner, unless an admin allowed self-approval.",
        request=DecisionInputSerializer,
        responses={200: AssetDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data, asset = self._input(DecisionInputSerializer), self.get_object()
        services.review(asset, request.user, Review.Decision.APPROVED, data["comment"], origin=Origin.API)
        return self.respond(asset)

    @extend_schema(
        summary="Send the version in review back, saying what should change",
        request=ChangesInputSerializer,
        responses={200: AssetDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        data, asset = self._input(ChangesInputSerializer), self.get_object()
        services.review(asset, request.user, Review.Decision.CHANGES_REQUESTED, data["comment"], origin=Origin.API)
        return self.respond(asset)

    @extend_schema(
        summary="Retire an asset: its share links stop working and it leaves the stage panels",
        request=None,
        responses={200: AssetDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        return self.respond(services.retire(self.get_object(), request.user, origin=Origin.API))

    @extend_schema(
        summary="Bring a retired asset back (approved again if it has a published version)",
        request=None,
        responses={200: AssetDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        return self.respond(services.restore(self.get_object(), request.user, origin=Origin.API))


@extend_schema_view(
    list=extend_schema(
        summary="List the messaging guide",
        description="Every entry, drafts too; sales sees `approved_revision`. Filter by kind, status, owner, "
        "deal_stage, persona, product, competitor and updated_at_after / updated_at_before.",
    ),
    retrieve=extend_schema(summary="Get a message with its revisions (newest first) and review decisions"),
    create=extend_schema(
        summary="Create a message (a draft with revision 1)",
        request=MessageInputSerializer,
        responses={201: MessageDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a message: a new title or body is a new revision",
        description="On an approved message the new revision waits for approval; sales keeps the approved text.",
        request=MessageUpdateSerializer,
        responses={200: MessageDetailSerializer},
    ),
)
class MessageViewSet(_ContentViewSet):
    serializer_class = MessageSerializer
    detail_serializer_class = MessageDetailSerializer
    filterset_class = MessageFilter
    route_name = "message"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        access.require_see(self.request.user)
        latest = MessageRevision.objects.filter(message=OuterRef("pk")).order_by("-number").values("pk")[:1]
        queryset = (
            Message.objects.select_related("approved_revision")
            .annotate(latest_revision_id=Subquery(latest))
            .prefetch_related(
                Prefetch("personas", queryset=_ids_only(Persona)),
                Prefetch("deal_stages", queryset=_ids_only(Stage)),
                Prefetch("products", queryset=_ids_only(Product)),
                Prefetch("reviewers", queryset=_ids_only(User)),
            )
        )
        if self.action != "list":
            queryset = queryset.prefetch_related(
                Prefetch("revisions", queryset=MessageRevision.objects.order_by("-number")),
                Prefetch("reviews", queryset=Review.objects.order_by("-decided_at", "-id")),
            )
        return queryset

    def create(self, request):
        data = self._input(MessageInputSerializer)
        message = guide.create_message(request.user, origin=Origin.API, **data)
        return self.respond(message, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        message = self.get_object()
        data = self._input(MessageUpdateSerializer, partial=True)
        return self.respond(guide.update_message(message, request.user, origin=Origin.API, **data))

    @extend_schema(
        summary="Submit the latest revision for review (its reviewers are notified)",
        request=None,
        responses={200: MessageDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        message = self.get_object()
        guide.submit_message(message, request.user, origin=Origin.API)
        return self.respond(message)

    @extend_schema(
        summary="Approve the latest revision: it becomes the text sales sees",
        description="A named reviewer or an admin; never the owner, unless an admin allowed self-approval.",
        request=DecisionInputSerializer,
        responses={200: MessageDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data, message = self._input(DecisionInputSerializer), self.get_object()
        guide.review_message(message, request.user, Review.Decision.APPROVED, data["comment"], origin=Origin.API)
        return self.respond(message)

    @extend_schema(
        summary="Send the latest revision back, saying what should change",
        request=ChangesInputSerializer,
        responses={200: MessageDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        data, message = self._input(ChangesInputSerializer), self.get_object()
        decision = Review.Decision.CHANGES_REQUESTED
        guide.review_message(message, request.user, decision, data["comment"], origin=Origin.API)
        return self.respond(message)

    @extend_schema(
        summary="Retire a message: it leaves the guide and the stage panels",
        request=None,
        responses={200: MessageDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        return self.respond(guide.retire_message(self.get_object(), request.user, origin=Origin.API))
