"""The base of every API view: authentication, permissions, throttling, errors, pagination, expand, idempotency.

Everything is configured here, per view, rather than in settings.REST_FRAMEWORK, so the API's behaviour is
read in one place.
"""

import datetime

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.urls import reverse
from django.utils import timezone
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from smarketing.api import idempotency, problems
from smarketing.api.authentication import BearerTokenAuthentication, SessionAuthentication
from smarketing.api.filters import FilterBackend
from smarketing.api.pagination import KeysetCursorPagination
from smarketing.api.permissions import TokenScopePermission
from smarketing.api.schema import ApiAutoSchema
from smarketing.api.throttling import TokenRateThrottle


class ApiViewMixin:
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, TokenScopePermission]
    throttle_classes = [TokenRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    pagination_class = KeysetCursorPagination
    filter_backends = [FilterBackend]
    schema = ApiAutoSchema()

    # Allow-listed ?ordering= values: public name -> NOT NULL model field (id is always allowed).
    ordering_fields: dict[str, str] = {}
    default_ordering = "-id"
    # Allow-listed ?expand= names and what each needs loaded with the rows.
    expandable: dict[str, dict] = {}
    # Service error field names -> API field names (crm stores custom properties in `custom`).
    error_field_names = {"custom": "properties"}

    def get_exception_handler(self):
        return problems.exception_handler

    def initial(self, request, *args, **kwargs):
        # The API speaks UTC whatever the session user's display time zone is.
        timezone.activate(datetime.UTC)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                # Read the body through Django so DATA_UPLOAD_MAX_MEMORY_SIZE applies (DRF's parsers would
                # otherwise read an unbounded stream), and so idempotency can fingerprint it.
                request._request.body  # noqa: B018
            except RequestDataTooBig:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                raise problems.PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        super().initial(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        """DRF's dispatch, with the handler run inside idempotency.guard (POST with an Idempotency-Key)."""
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            if handler is None:
                handler = self.http_method_not_allowed
            with idempotency.guard(request) as outcome:
                response = handler(request, *args, **kwargs)
                outcome.keep(response)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    # -- expand ------------------------------------------------------------------------------------------

    def expand_names(self) -> tuple[str, ...]:
        if not hasattr(self, "_expand"):
            # Both ?expand=company,owner and ?expand=company&expand=owner (how generated clients send arrays).
            raw = ",".join(self.request.query_params.getlist("expand")) if self.request else ""
            parts = [n.strip() for n in raw.split(",")] if self.request.query_params.getlist("expand") else []
            names = tuple(dict.fromkeys(parts))
            # An empty name (?expand= or "company,,owner") is refused like an unknown one: the schema's enum has none.
            unknown = [n for n in names if n not in self.expandable]
            if unknown:
                allowed = ", ".join(self.expandable) or "nothing"
                raise problems.Problem(
                    400,
                    "validation-error",
                    f"Cannot expand {unknown[0][:50]!r}.",
                    {"expand": [f"This resource can expand: {allowed}."]},
                )
            self._expand = names
        return self._expand

    def with_expansions(self, queryset):
        for name in self.expand_names():
            spec = self.expandable[name]
            if spec.get("select"):
                queryset = queryset.select_related(*spec["select"])
            if spec.get("prefetch"):
                queryset = queryset.prefetch_related(*spec["prefetch"])
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["expand"] = self.expand_names() if self.request is not None else ()
        return context


class ApiViewSet(ApiViewMixin, viewsets.GenericViewSet):
    lookup_value_regex = r"[0-9]{1,18}"


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    http_method_names = ["get", "head", "options"]


class ListCreateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """List, read and create; the create validates with `input_serializer_class` and answers with the read one."""

    http_method_names = ["get", "post", "head", "options"]
    input_serializer_class = None
    route_name = ""

    def get_queryset(self):
        return self.with_expansions(self.queryset)

    def create(self, request):
        serializer = self.input_serializer_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        obj = self.perform_write(dict(serializer.validated_data))
        return self.respond(obj, status.HTTP_201_CREATED)

    def respond(self, obj, code=200):
        obj = self.get_queryset().get(pk=obj.pk)
        headers = {"Location": reverse(f"api:{self.route_name}-detail", args=[obj.pk])} if code == 201 else {}
        return Response(self.get_serializer(obj).data, status=code, headers=headers)
