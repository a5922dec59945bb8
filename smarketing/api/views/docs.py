"""/api/schema/ (OpenAPI 3, JSON or YAML) and /api/docs/, a server-rendered reference generated from it.

The docs page needs no JavaScript and nothing from a CDN (Swagger UI and Redoc would need both).
"""

import functools

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from smarketing.api import problems, throttling
from smarketing.api.views.base import ApiViewMixin

METHOD_ORDER = ["get", "post", "patch", "put", "delete"]


class Generator(SchemaGenerator):
    """Paths are written without the trailing slash (both forms work; links and Location headers omit it)."""

    def get_schema(self, request=None, public=False):
        schema = super().get_schema(request=request, public=public)
        schema["paths"] = {path.rstrip("/") or "/": item for path, item in schema["paths"].items()}
        return schema


class SchemaView(SpectacularAPIView):
    """The OpenAPI document, public (it describes the API, holds no data)."""

    generator_class = Generator
    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
    throttle_classes = []

    def get_exception_handler(self):
        return problems.exception_handler


# ApiViewMixin is imported so every API view (and its schema extensions) is loaded before generation.
assert ApiViewMixin


@functools.cache
def openapi() -> dict:
    return Generator().get_schema(request=None, public=True)


def _ref_name(schema: dict | None) -> str | None:
    if not schema:
        return None
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return schema["items"]["$ref"].rsplit("/", 1)[-1]
    return None


def _type_label(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " or ".join(_type_label(s) for s in schema["oneOf"])
    if "allOf" in schema:
        return " & ".join(_type_label(s) for s in schema["allOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_label(schema.get('items', {}))}"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return kind


def _fields(component: dict, *, writing: bool) -> list[dict]:
    required = set(component.get("required", []))
    rows = []
    for name, prop in component.get("properties", {}).items():
        if writing and prop.get("readOnly"):
            continue
        enum = prop.get("enum") or next((s.get("enum") for s in prop.get("allOf", []) if "enum" in s), None)
        rows.append(
            {
                "name": name,
                "type": _type_label(prop),
                "required": name in required and not writing,
                "read_only": prop.get("readOnly", False),
                "nullable": prop.get("nullable", False),
                "description": prop.get("description", ""),
                "enum": [e for e in (enum or []) if e not in ("", None)],
            }
        )
    return rows


def _resolve_enum(schema: dict, components: dict) -> list:
    if "enum" in schema:
        return schema["enum"]
    name = _ref_name(schema)
    if name and name in components:
        return components[name].get("enum", [])
    return []


@functools.cache
def reference() -> dict:
    """The schema reshaped for the template: operations grouped by tag, and the objects they use."""
    schema = openapi()
    components = schema.get("components", {}).get("schemas", {})
    groups: dict[str, list] = {}
    used = set()
    for path, item in schema.get("paths", {}).items():
        for method in sorted(item, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99):
            op = item[method]
            if method not in METHOD_ORDER:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            request_name = _ref_name(body)
            responses = []
            for code, response in sorted(op.get("responses", {}).items()):
                content = response.get("content", {})
                media = next(iter(content), "")
                name = _ref_name(content.get(media, {}).get("schema")) if media else None
                if name and not name.startswith("Paginated"):
                    used.add(name)
                responses.append({"code": code, "description": response.get("description", ""), "object": name})
            if request_name:
                used.add(request_name)
            params = [
                {
                    "name": p["name"],
                    "in": p["in"],
                    "required": p.get("required", False),
                    "type": _type_label(p.get("schema", {})),
                    "enum": _resolve_enum(p.get("schema", {}).get("items", p.get("schema", {})), components),
                    "description": p.get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            tag = (op.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append(
                {
                    "anchor": op.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                    "request": request_name,
                    "responses": responses,
                }
            )
    for name in list(used):
        for prop in components.get(name, {}).get("properties", {}).values():
            for sub in [prop, prop.get("items", {}), *prop.get("oneOf", [])]:
                ref = _ref_name(sub)
                if ref and components.get(ref, {}).get("type") == "object":
                    used.add(ref)
    objects = [
        {"name": name, "fields": _fields(components[name], writing=name.endswith("Request"))}
        for name in sorted(used)
        if name in components and components[name].get("type") == "object"
    ]
    problem_types = [{"slug": slug, "title": title} for slug, title in problems.TYPES.items()]
    return {
        "info": schema.get("info", {}),
        "groups": sorted(groups.items()),
        "objects": objects,
        "problem_types": problem_types,
    }


@login_not_required
def docs(request):
    return render(request, "api/docs.html", {**reference(), "rate_per_minute": throttling.RATE_PER_MINUTE})
