"""Import pages (upload, mapping, progress, result, error file) and export downloads."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from smarketing.core.models import WorkerHeartbeat
from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm.models import ObjectType, PropertyDefinition
from smarketing.dataio import access, csvfile, exporter, services
from smarketing.dataio.csvfile import DELIMITERS, ENCODINGS, FileProblem
from smarketing.dataio.fields import targets
from smarketing.dataio.importer import runner
from smarketing.dataio.models import Export, Import
from smarketing.dataio.report import describe_rows
from smarketing.dataio.uploads import ImportUploadHandler

NEWEST = SortOption("Newest first", ("-id",))
OBJECT_LABELS = {ObjectType.CONTACT: "Contacts", ObjectType.COMPANY: "Companies", ObjectType.DEAL: "Deals"}


def _visible_imports(user):
    qs = Import.objects.select_related("created_by")
    return qs if access.sees_everyones_files(user) else qs.filter(created_by=user)


def _get_import(request, pk: int) -> Import:
    """An import its owner or an admin may see; anyone else gets a 404 (no hint that it exists)."""
    access.require_importer(request.user)
    return get_object_or_404(_visible_imports(request.user), pk=pk)


# ---------------------------------------------------------------------------------------------------------
# Import list and upload


@login_required
@require_GET
def import_list(request):
    access.require_importer(request.user)
    return _render_list(request)


INTERRUPTED_SHOWN = 20


def _render_list(request, *, error: str = "", object_type: str = ObjectType.CONTACT, status: int = 200):
    page = keyset_page(_visible_imports(request.user), NEWEST, request.GET.get("after"), 25)
    # Imports that need a decision: stopped on an error, or "running" with no living process behind them.
    # Few rows (served by import_user_idx plus the status); the liveness check is one query for all of them.
    candidates = list(
        _visible_imports(request.user)
        .filter(status__in=[Import.Status.RUNNING, Import.Status.FAILED])
        .exclude(file_name="")
        .order_by("-id")[:INTERRUPTED_SHOWN]
    )
    dead = runner.interrupted([*candidates, *page.rows])
    interrupted = [imp for imp in candidates if imp.status == Import.Status.FAILED or imp.pk in dead]
    exports = []
    if access.can_export(request.user):
        exports = list(Export.objects.filter(requested_by=request.user).order_by("-id")[:10])
    context = {
        "page": page,
        "error": error,
        "object_type": object_type,
        "object_types": OBJECT_LABELS.items(),
        "max_mb": csvfile.MAX_IMPORT_MB,
        "can_export": access.can_export(request.user),
        "export_kinds": [(key, kind.label) for key, kind in exporter.KINDS.items()],
        "exports": exports,
        "interrupted": interrupted,
        "dead": dead,
    }
    return render(request, "dataio/import_list.html", context, status=status)


@login_required
@csrf_exempt  # the upload handler must be installed before the body is read; CSRF is checked right after
def upload(request):
    if request.method != "POST":
        return redirect("dataio:import_list")
    access.require_importer(request.user)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > services.max_bytes() + 64 * 1024:
        return _render_list(request, error=_too_large_message(), status=413)
    handler = ImportUploadHandler(request)
    request.upload_handlers = [handler]
    return _upload(request, handler)


def _too_large_message() -> str:
    return (
        f"The file is larger than {csvfile.MAX_IMPORT_MB} MB. Split it into smaller files, or ask an admin to raise "
        "SMARKETING_MAX_IMPORT_MB."
    )


@csrf_protect
def _upload(request, handler: ImportUploadHandler):
    object_type = request.POST.get("object_type", "")
    upload = request.FILES.get("file")
    if handler.too_large:
        return _render_list(request, error=_too_large_message(), status=413)
    if upload is None:
        return _render_list(request, error="Choose a CSV file to upload.", object_type=object_type, status=400)
    if object_type not in ObjectType.values:
        (runner.upload_dir() / upload.stored_name).unlink(missing_ok=True)
        return _render_list(request, error="Choose what the file contains: contacts, companies or deals.", status=400)
    try:
        imp = services.create_import(
            file_name=upload.stored_name,
            size=upload.size,
            original_name=upload.name,
            object_type=object_type,
            actor=request.user,
        )
    except FileProblem as exc:
        return _render_list(request, error=str(exc), object_type=object_type, status=400)
    return redirect("dataio:import_mapping", pk=imp.pk)


# ---------------------------------------------------------------------------------------------------------
# Mapping


def _target_choices(imp: Import, definitions) -> list[tuple[str, list[tuple[str, str]]]]:
    all_targets = targets(imp.object_type, definitions)
    builtin = [(t.name, t.label) for t in all_targets if not t.name.startswith("custom:")]
    custom = [(t.name, t.label.removesuffix(" (custom property)")) for t in all_targets if t.name.startswith("custom:")]
    groups = [("Fields", builtin)]
    if custom:
        groups.append(("Custom properties", custom))
    return groups


@login_required
def import_mapping(request, pk: int):
    imp = _get_import(request, pk)
    if imp.status != Import.Status.MAPPING:
        return redirect("dataio:import_detail", pk=imp.pk)
    definitions = list(PropertyDefinition.objects.filter(object_type=imp.object_type))
    problems: list[str] = []
    mapping = imp.mapping
    if request.method == "POST":
        action = request.POST.get("action", "start")
        if action == "reread":
            encoding = request.POST.get("encoding", imp.encoding)
            delimiter = request.POST.get("delimiter", imp.delimiter)
            if encoding not in ENCODINGS or delimiter not in DELIMITERS:
                problems.append("Choose an encoding and a delimiter from the lists.")
            else:
                try:
                    services.reanalyze(imp, encoding=encoding, delimiter=delimiter)
                    messages.success(request, "The file was read again; check the columns below.")
                    return redirect("dataio:import_mapping", pk=imp.pk)
                except FileProblem as exc:
                    problems.append(str(exc))
        else:
            mapping = [request.POST.get(f"col-{index}", "") for index in range(len(imp.header))]
            imp.send_events = request.POST.get("send_events") == "on"
            try:
                services.set_mapping(imp, mapping, request.POST.get("date_order", Import.DateOrder.AUTO))
                imp.save(update_fields=["send_events"])
                services.queue_import(imp, request.user)
                return redirect("dataio:import_detail", pk=imp.pk)
            except ValidationError as exc:
                problems.extend(exc.messages)
    columns = []
    for index, name in enumerate(imp.header):
        samples = [row[index] for row in imp.sample if index < len(row) and row[index].strip()][:3]
        columns.append({"index": index, "name": name, "target": mapping[index], "samples": samples})
    context = {
        "imp": imp,
        "columns": columns,
        "choices": _target_choices(imp, definitions),
        "problems": problems,
        "encodings": ENCODINGS.items(),
        "delimiters": DELIMITERS.items(),
        "date_orders": Import.DateOrder.choices,
        "object_label": OBJECT_LABELS[imp.object_type],
        "unmapped": [c["name"] for c in columns if not c["target"]],
    }
    return render(request, "dataio/import_mapping.html", context, status=400 if problems else 200)


@login_required
@require_POST
def import_discard(request, pk: int):
    imp = _get_import(request, pk)
    try:
        services.discard_import(imp, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("dataio:import_detail", pk=imp.pk)
    if imp.next_row:
        messages.success(
            request,
            f"The import of {imp.original_name} was discarded and its file deleted; the {imp.next_row:,} rows it "
            "had already processed stay imported.",
        )
    else:
        messages.success(request, f"The upload of {imp.original_name} was discarded.")
    return redirect("dataio:import_list")


# ---------------------------------------------------------------------------------------------------------
# Progress and result


REPORTED_SHOWN = 100


def _progress_context(imp: Import) -> dict:
    waiting = imp.status == Import.Status.QUEUED and imp.created_at < timezone.now() - timedelta(seconds=10)
    no_worker = False
    if waiting:
        no_worker = not WorkerHeartbeat.objects.alive().exists()
    interrupted = imp.pk in runner.interrupted([imp])
    reported = []
    if imp.finished:
        reported = describe_rows(list(imp.reported_rows.order_by("row_number")[:REPORTED_SHOWN]), imp.object_type)
    return {
        "imp": imp,
        "no_worker": no_worker,
        "interrupted": interrupted,
        "resumable": runner.resumable(imp, is_interrupted=interrupted),
        "discardable": imp.file_name and (imp.status == Import.Status.FAILED or interrupted),
        "rejections": list(imp.rejected_rows.order_by("row_number")[:20]) if imp.finished else [],
        "updates": [row for row in reported if row.outcome == "updated"],
        "warned_rows": [row for row in reported if row.warnings],
        "reported_more": len(reported) == REPORTED_SHOWN,
        "unknown_sources": services.unknown_sources_sentence(imp) if imp.unknown_sources else "",
        "object_label": OBJECT_LABELS[imp.object_type],
    }


@login_required
@require_GET
def import_detail(request, pk: int):
    imp = _get_import(request, pk)
    if imp.status == Import.Status.MAPPING:
        return redirect("dataio:import_mapping", pk=imp.pk)
    return render(request, "dataio/import_detail.html", _progress_context(imp))


@login_required
@require_GET
def import_progress(request, pk: int):
    """The progress card alone; htmx polls it every second until the import has finished."""
    imp = _get_import(request, pk)
    return render(request, "dataio/_progress.html", _progress_context(imp))


@login_required
@require_POST
def import_resume(request, pk: int):
    imp = _get_import(request, pk)
    try:
        services.resume_import(imp, request.user)
        messages.success(request, "The import continues where it stopped.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("dataio:import_detail", pk=imp.pk)


@login_required
@require_GET
def import_errors(request, pk: int):
    """The rejected rows as CSV: the original cells, then the row number and the reason. Importer or admin only."""
    imp = _get_import(request, pk)
    response = StreamingHttpResponse(services.rejected_rows_csv(imp), content_type="text/csv; charset=utf-8")
    base = imp.original_name.rsplit(".", 1)[0][:80] or "import"
    response["Content-Disposition"] = _attachment(f"{base}-rejected-rows.csv")
    return response


def _attachment(filename: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    return f'attachment; filename="{safe}"'


# ---------------------------------------------------------------------------------------------------------
# Export


@login_required
@require_POST
def export(request, kind: str, fmt: str):
    """POST /import/export/contacts.csv with a list page's parameters (or `selection=1` and the ticked `ids`):
    records the export, then redirects to its download, or to its progress page when it is large (a job).

    A POST, because it writes (the Export row, the audit entry, maybe a job); CSRF-protected like any form.
    """
    if kind not in exporter.KINDS or fmt not in exporter.FORMATS:
        raise Http404("Unknown export.")
    access.require_exporter(request.user)
    try:
        filters = exporter.parse_filters(kind, request.POST, request.user)
    except ValidationError as exc:
        if request.POST.get("selection"):  # the Export button of a list's bulk bar: back to the list
            messages.warning(request, " ".join(exc.messages))
            return redirect(_back(request))
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain; charset=utf-8")
    large = exporter.is_large(kind, filters, request.user)
    record = Export.objects.create(
        kind=kind,
        fmt=fmt,
        filters=filters,
        requested_by=request.user,
        status=Export.Status.QUEUED if large else Export.Status.DONE,
        finished_at=None if large else timezone.now(),
    )
    exporter.audit(record, request.user)
    if large:
        from smarketing.dataio.tasks import run_export

        run_export.enqueue(record.pk)
        messages.info(request, "This export is large, so it is being prepared in the background.")
        return redirect("dataio:export_detail", pk=record.pk)
    return redirect("dataio:export_download", pk=record.pk)


def _back(request) -> str:
    """The page that posted the export (a list with its filters), never another site."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("dataio:import_list")


def _get_export(request, pk: int) -> Export:
    access.require_exporter(request.user)
    qs = (
        Export.objects.all()
        if access.sees_everyones_files(request.user)
        else Export.objects.filter(requested_by=request.user)
    )
    return get_object_or_404(qs, pk=pk)


@login_required
@require_GET
def export_detail(request, pk: int):
    export = _get_export(request, pk)
    template = "dataio/_export_progress.html" if request.htmx else "dataio/export_detail.html"
    return render(request, template, {"export": export, "label": exporter.KINDS[export.kind].label})


@login_required
@require_GET
def export_download(request, pk: int):
    """The file a job wrote; or, for a small export, the rows streamed now (read with the requester's rights)."""
    export = _get_export(request, pk)
    if export.status != Export.Status.DONE:
        raise Http404("This export has no file yet.")
    if not export.file_name:
        return _stream_export(export)
    path = exporter.export_path(export)
    if not path.exists():
        raise Http404("The export file is gone; export again.")
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=export.download_name, content_type=CONTENT_TYPES[export.fmt]
    )


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _stream_export(export: Export):
    user = export.requested_by
    if user is None:
        raise Http404("The user who asked for this export no longer exists.")
    if export.fmt == "csv":
        response = StreamingHttpResponse(
            exporter.stream_csv(export.kind, export.filters, user), content_type=CONTENT_TYPES["csv"]
        )
        response["Content-Disposition"] = _attachment(export.download_name)
        return response
    return FileResponse(
        exporter.xlsx_tempfile(export.kind, export.filters, user),
        as_attachment=True,
        filename=export.download_name,
        content_type=CONTENT_TYPES["xlsx"],
    )
