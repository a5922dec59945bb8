"""The content API's serializers: shape and type only; the rules (who may, what a valid asset or message is, the
review) live in content/services.py, content/guide.py and content/access.py."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.api.fields import StrictSerializer
from smarketing.api.filters import MAX_ID
from smarketing.content.models import (
    Asset,
    AssetType,
    AssetVersion,
    Message,
    MessageKind,
    MessageRevision,
    Persona,
    Product,
    Review,
)
from smarketing.crm.models import LifecycleStage, Stage

MAX_TAGS = 50


class StrictIntegerField(serializers.IntegerField):
    """An integer that is a JSON number: inside a list, StrictSerializer's own type check does not reach."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_TAGS,
        required=False,
        help_text=help_text,
    )


def _existing(model, ids: list[int], label: str) -> list[int]:
    """The ids, each once, if every one names a row (one query); a 400 naming the field otherwise."""
    ids = list(dict.fromkeys(ids))
    found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise serializers.ValidationError(f"No {label} with id {missing[0]}.")
    return ids


# -- reading -----------------------------------------------------------------------------------------------------


class PersonaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Persona
        fields = ["id", "name", "description", "title_keywords", "position"]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name"]
        read_only_fields = fields


class AssetVersionSerializer(serializers.ModelSerializer):
    """One upload (or URL) of an asset. Files are downloaded in the app (permission-checked), never by URL here."""

    is_file = serializers.BooleanField(read_only=True)

    class Meta:
        model = AssetVersion
        fields = [
            "id",
            "number",
            "status",
            "is_file",
            "original_name",
            "mime_type",
            "size",
            "sha256",
            "page_count",
            "url",
            "note",
            "created_by",
            "created_at",
            "approved_at",
        ]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    """A reviewer's decision: the approval record."""

    class Meta:
        model = Review
        fields = ["id", "version", "revision", "reviewer", "decision", "comment", "decided_at"]
        read_only_fields = fields


def _funnel_schema():
    return serializers.ListField(child=serializers.ChoiceField(choices=LifecycleStage.choices))


class AssetSerializer(serializers.ModelSerializer):
    """An asset as lists show it: its tags as ids and the version every share link serves."""

    deal_stages = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    personas = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    products = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    reviewers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    funnel_stages = serializers.SerializerMethodField(help_text="Lifecycle stages the asset helps at, funnel order.")
    published_version = AssetVersionSerializer(
        read_only=True, allow_null=True, help_text="The version share links serve (the latest approved one)."
    )
    shareable = serializers.BooleanField(read_only=True, help_text="Approved with a published version.")

    class Meta:
        model = Asset
        fields = [
            "id",
            "title",
            "description",
            "asset_type",
            "status",
            "shareable",
            "owner",
            "deal_stages",
            "personas",
            "products",
            "funnel_stages",
            "industry",
            "language",
            "reviewers",
            "allow_self_approval",
            "published_version",
            "expires_on",
            "approved_at",
            "approved_by",
            "retired_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(_funnel_schema())
    def get_funnel_stages(self, obj) -> list[str]:
        # Prefetched by the view (ordered there): a page costs the same whatever its length.
        return [row.lifecycle_stage for row in obj.funnel_stages.all()]


class AssetDetailSerializer(AssetSerializer):
    """One asset with its history: every version (newest first) and every review decision."""

    versions = AssetVersionSerializer(many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)

    class Meta(AssetSerializer.Meta):
        fields = [*AssetSerializer.Meta.fields, "versions", "reviews"]
        read_only_fields = fields


class MessageRevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageRevision
        fields = ["id", "number", "title", "body", "created_by", "created_at"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    """A messaging-guide entry: its current text, and the approved revision (what sales sees)."""

    personas = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    deal_stages = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    products = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    reviewers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    lifecycle_stages = _funnel_schema()
    approved_revision = MessageRevisionSerializer(
        read_only=True, allow_null=True, help_text="The text sales sees; null until a first approval."
    )
    pending_revision = serializers.SerializerMethodField(
        help_text="An approved message whose newer text waits for approval (sales keeps the approved one)."
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "competitor",
            "status",
            "pending_revision",
            "owner",
            "personas",
            "deal_stages",
            "lifecycle_stages",
            "products",
            "reviewers",
            "allow_self_approval",
            "approved_revision",
            "approved_at",
            "approved_by",
            "position",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_pending_revision(self, obj) -> bool:
        from smarketing.content.guide import has_pending

        # latest_revision_id is annotated by the view: no query per row.
        return has_pending(obj, getattr(obj, "latest_revision_id", None))


class MessageDetailSerializer(MessageSerializer):
    revisions = MessageRevisionSerializer(many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "revisions", "reviews"]
        read_only_fields = fields


# -- writing -----------------------------------------------------------------------------------------------------


class _TagsInput(StrictSerializer):
    """The tags assets and messages share; ids are checked to exist (one query each)."""

    personas = id_list("Persona ids (GET /api/v1/messages and assets show them; the library's settings name them).")
    deal_stages = id_list("Pipeline stage ids (/api/v1/stages).")
    products = id_list("Product ids.")
    reviewers = id_list("User ids of the named reviewers: active users who can edit.")
    owner = StrictIntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="A user id; giving it to someone else is for admins "
        "and the owner's manager."
    )  # fmt: skip
    allow_self_approval = serializers.BooleanField(
        required=False, help_text="Let the owner approve their own content (admins only)."
    )

    def validate_personas(self, value):
        return _existing(Persona, value, "persona")

    def validate_deal_stages(self, value):
        return _existing(Stage, value, "stage")

    def validate_products(self, value):
        return _existing(Product, value, "product")

    def validate_reviewers(self, value):
        return list(dict.fromkeys(value))  # the service checks they are active users who can edit


class AssetInputSerializer(_TagsInput):
    """A new URL asset (a draft, version 1). Files are uploaded in the app: Library → New asset."""

    title = serializers.CharField(max_length=200)
    asset_type = serializers.ChoiceField(choices=AssetType.choices)
    url = serializers.URLField(max_length=1000, help_text="An http(s) address: a video, a blog post, a page.")
    note = serializers.CharField(max_length=500, allow_blank=True, required=False, help_text="About version 1.")
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    industry = serializers.CharField(max_length=100, allow_blank=True, required=False)
    language = serializers.CharField(max_length=10, required=False, help_text="A language code: en, de, pt-br.")
    expires_on = serializers.DateField(
        allow_null=True, required=False, help_text="Its owner is reminded a week before."
    )
    funnel_stages = serializers.ListField(
        child=serializers.ChoiceField(choices=LifecycleStage.choices), max_length=10, required=False
    )


class AssetUpdateSerializer(AssetInputSerializer):
    """The metadata to change (PATCH); a new file or URL is a new version, uploaded in the app."""

    url = None
    note = None


class DecisionInputSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class ChangesInputSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=2000, help_text="What should change.")


class MessageInputSerializer(_TagsInput):
    kind = serializers.ChoiceField(choices=MessageKind.choices)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=5000, help_text="Plain text; each line is a bullet point.")
    competitor = serializers.CharField(max_length=100, allow_blank=True, required=False)
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    lifecycle_stages = serializers.ListField(
        child=serializers.ChoiceField(choices=LifecycleStage.choices), max_length=10, required=False
    )


class MessageUpdateSerializer(MessageInputSerializer):
    """The fields to change (PATCH): a new title or body is a new revision. A message keeps its owner."""

    owner = None
