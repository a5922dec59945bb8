"""OpenAPI details drf-spectacular cannot infer: problem responses, idempotency/If-Match headers, ?expand,
the token security scheme and our custom serializer fields."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, get_doc
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from smarketing.api import idempotency
from smarketing.api.problems import CONTENT_TYPE


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, the body of every error response."""

    type = serializers.CharField(help_text="URI reference naming the kind of problem (documented on /api/docs/).")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages per field; nested fields are dotted ("properties.plan", "records.3.email").',
    )


PROBLEM_DESCRIPTIONS = {
    "400": "Invalid request: a field, filter, ordering, cursor or expand value was refused (see `errors`).",
    "401": "No valid credentials (unknown or revoked token).",
    "403": "Authenticated, but not allowed (role, record ownership, or a read-only token).",
    "404": "No such object, or you cannot see it.",
    "409": "Conflict: the record changed since you read it (stale version), or a request with this "
    "Idempotency-Key is still in progress.",
    "412": "If-Match does not match the record's current version.",
    "413": "Request body too large, or too many records in a batch.",
    "415": "Send JSON (Content-Type: application/json).",
    "422": "This Idempotency-Key was used with a different request.",
    "429": "Rate limit exceeded; retry after the number of seconds in Retry-After.",
}


# What the record views (crm/api/views.py) read from If-Match: "*" or a version, quoted or not, weak or not
# ("3", W/"3", 3).
IF_MATCH_PATTERN = r'^ *(\*|(W/)?"?[0-9]{1,9}"?) *$'


class ApiAutoSchema(AutoSchema):
    def get_tags(self):
        # /api/v1/contacts/{id}/ -> "contacts" (the default would tag everything "v1")
        parts = self._tokenize_path()
        return parts[1:2] if parts[:1] == ["v1"] and len(parts) > 1 else parts[:1]

    def get_description(self):
        # Only the operation's own words; the view class docstrings are written for developers.
        action_or_method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        return get_doc(action_or_method) if action_or_method is not None else ""

    def _problem_codes(self) -> list[str]:
        codes = ["401", "403", "429"]
        method = self.method
        has_id = "{id}" in self.path
        if method == "GET":
            codes.append("400")
        if has_id:
            codes.append("404")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append("400")
        if method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if method == "PATCH":
            codes += ["409", "412"]
        if method == "POST":
            codes += ["409", "422"]
        return sorted(set(codes))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._problem_codes():
            if code in responses:
                continue
            response = self._get_response_for_code(ProblemSerializer, code, media_types=[CONTENT_TYPE])
            response["description"] = PROBLEM_DESCRIPTIONS[code]
            if code == "429":
                response["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
                }
            responses[code] = response
        return responses

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        expandable = list(getattr(self.view, "expandable", {}) or {})
        if expandable and self.method in ("GET", "POST", "PATCH"):
            params.append(
                OpenApiParameter(
                    "expand",
                    {"type": "array", "items": {"type": "string", "enum": expandable}},
                    OpenApiParameter.QUERY,
                    style="form",
                    explode=True,
                    description="Associations to return as objects instead of ids: repeat the parameter "
                    "(expand=company&expand=owner) or separate names with commas (expand=company,owner).",
                )
            )
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    idempotency.HEADER,
                    {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": idempotency.MAX_KEY_LENGTH,
                        "pattern": idempotency.KEY_PATTERN,
                    },
                    OpenApiParameter.HEADER,
                    description="Makes the POST safe to retry: a retry with the same key returns the first "
                    "response (with Idempotent-Replayed: true) instead of acting twice. Keys live 24 hours. "
                    f"1 to {idempotency.MAX_KEY_LENGTH} visible ASCII characters, such as a UUID.",
                )
            )
        if self.method == "PATCH":
            params.append(
                OpenApiParameter(
                    "If-Match",
                    {"type": "string", "pattern": IF_MATCH_PATTERN},
                    OpenApiParameter.HEADER,
                    description='The ETag (version) you read, e.g. "3": the update is refused with 412 if the '
                    "record changed since.",
                )
            )
        return params


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "smarketing.api.authentication.BearerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from /api/tokens/: `Authorization: Bearer smk_...`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "smarketing.api.authentication.SessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The UI's session (with CSRF)."}


# Matches null and nothing else, whichever way a validator reads `nullable` (drf-spectacular's NullEnum).
NULL = {"enum": [None]}


def _with_null(schema: dict) -> dict:
    """`schema` or null, as OpenAPI 3.0 reads it: `nullable` counts only beside a `type`, so a type-less schema
    (a $ref, a oneOf, an allOf wrapper) gets null as one more alternative instead."""
    schema = {k: v for k, v in schema.items() if k != "nullable"}
    if "oneOf" in schema:
        return {**schema, "oneOf": [*schema["oneOf"], NULL]}
    alternatives = [{"$ref": schema.pop("$ref")}] if "$ref" in schema else schema.pop("allOf", [])
    if len(alternatives) != 1:
        alternatives = [{"allOf": alternatives}]
    return {"oneOf": [*alternatives, NULL], **schema}


def _fix_schema(schema):
    if isinstance(schema, list):
        return [_fix_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _fix_schema(value) for key, value in schema.items()}
    if schema.get("nullable") and "type" not in schema:
        schema = _with_null(schema)
    if isinstance(schema.get("enum"), list) and "" in schema["enum"] and schema["enum"] != [""]:
        # The API refuses "" for every choice (a value is cleared with null), so "" is no enum value.
        schema["enum"] = [value for value in schema["enum"] if value != ""]
    return schema


def postprocess(result, generator, request, public):
    """A SPECTACULAR_SETTINGS hook: nullable type-less schemas made explicit, blank enum values removed."""
    return _fix_schema(result)


class ExpandableFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "smarketing.api.fields.ExpandableRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        id_schema = {"type": "integer", "minimum": 1}
        if direction == "request":
            schema = id_schema
        else:
            component = auto_schema.resolve_serializer(field.expand_with(), direction)
            name = field.expand_name or field.field_name
            schema = {
                "oneOf": [id_schema, component.ref],
                "description": f"The id; the object itself with ?expand={name}.",
            }
        return schema


class PropertiesFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "smarketing.api.fields.PropertiesField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "object",
            "additionalProperties": {
                "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, NULL],
            },
            "description": "Custom properties by key (see /api/v1/properties/). On update, keys are merged; "
            "null removes one.",
        }


class JSONObjectFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "smarketing.api.fields.JSONObjectField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "object", "additionalProperties": True}


# ---------------------------------------------------------------------------------------------------------
# Named enums. drf-spectacular names enums after the field ("StatusCffEnum" when two fields share a name), and
# warns (failing `check --deploy`) when choice sets collide. Each choice set here gets one explicit component,
# named after what it means, whichever field uses it.


def _enum_names() -> dict[frozenset, str]:
    from smarketing.accounts.models import Role, TeamKind
    from smarketing.api.batch import STATUSES
    from smarketing.crm.models import (
        ConsentStatus,
        DealContact,
        DealStatus,
        LeadStatus,
        LegalBasis,
        LifecycleStage,
        ObjectType,
        PropertyDefinition,
        Stage,
        Task,
    )
    from smarketing.timeline.kinds import all_kinds, api_creatable_kinds
    from smarketing.timeline.models import Team as TouchTeam

    named = {
        "LifecycleStage": LifecycleStage.values,
        "LeadStatus": LeadStatus.values,
        "ConsentStatus": ConsentStatus.values,
        "LegalBasis": LegalBasis.values,
        "DealOutcome": DealStatus.values,  # also a stage's outcome: the same three values
        "DealContactRole": DealContact.Role.values,
        "SalesOrMarketing": Stage.Team.values,
        "UserRole": Role.values,
        "TeamKind": TeamKind.values,
        "ObjectType": ObjectType.values,
        "PropertyType": PropertyDefinition.Type.values,
        "TouchpointKind": [k.key for k in all_kinds()],
        "RecordableTouchpointKind": [k.key for k in api_creatable_kinds()],
        "TouchpointTeam": TouchTeam.values,
        "TaskKind": Task.Kind.values,
        "BatchOutcomeStatus": list(STATUSES),
    }
    return {frozenset(v for v in values if v): name for name, values in named.items()}


class NamedEnumExtension(OpenApiSerializerFieldExtension):
    target_class = "rest_framework.fields.ChoiceField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        enum = schema.get("enum")
        if not enum or isinstance(self.target, serializers.MultipleChoiceField):
            return schema
        values = [v for v in enum if v not in ("", None)]
        name = _enum_names().get(frozenset(values))
        if name is None:
            return schema
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema={"type": "string", "enum": values, "description": schema.get("description", "")},
        )
        auto_schema.registry.register_on_missing(component)
        result = {"allOf": [component.ref]}
        if None in enum:
            result["nullable"] = True  # made a null alternative by postprocess()
        for key in ("readOnly", "nullable", "default"):
            if key in schema:
                result[key] = schema[key]
        return result
