"""Batch upsert: up to 1,000 records a call, each with exactly one outcome, like the importer reports.

The view that offers it says how a record finds its existing row (`find_existing`), creates one
(`create_record`) and updates one (`batch_update`); the CRM's record views are the ones that do
(crm/api/views.py, matching rules in crm/api/batch.py).

The whole batch runs in one transaction with a savepoint per record: a rejected record rolls back only its
own writes, and a crash mid-batch leaves nothing half-done (re-sending the batch is safe: records that made
it the first time come back "unchanged").
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from smarketing.api.problems import NON_FIELD, Problem, django_errors, flatten_errors
from smarketing.crm.services import ConflictError

MAX_RECORDS = 1000
STATUSES = ("created", "updated", "unchanged", "rejected")


def request_serializer(record_serializer):
    """The request body's schema: {"records": [<record>, ...]}."""
    name = record_serializer.__name__.replace("Serializer", "") + "BatchSerializer"
    return type(
        name,
        (serializers.Serializer,),
        {
            "__module__": __name__,
            # partial: a record may leave out what a create needs (it may match an existing one by external_id);
            # each record is validated on its own and reported in its outcome.
            "records": record_serializer(many=True, partial=True, min_length=1, max_length=MAX_RECORDS),
        },
    )


def records_from(data) -> list:
    if not isinstance(data, dict):
        raise ValidationError({NON_FIELD: ['Send an object: {"records": [...]}.']})
    unknown = [k for k in data if k != "records"]
    if unknown:
        raise ValidationError({str(k)[:100]: ["Unknown field."] for k in unknown})
    records = data.get("records")
    if not isinstance(records, list) or not records:
        raise ValidationError({"records": ["Send a non-empty list of records."]})
    if len(records) > MAX_RECORDS:
        raise Problem(
            413,
            "payload-too-large",
            f"At most {MAX_RECORDS} records per call; this one has {len(records)}. Split the batch.",
            {"records": [f"At most {MAX_RECORDS} records."]},
        )
    return records


def _outcome(index: int, status: str, pk=None, errors=None) -> dict:
    return {"index": index, "status": status, "id": pk, "errors": errors or {}}


def upsert(view, records: list) -> list[dict]:
    # One serializer validates every record (as ListSerializer does with its child): building a
    # ModelSerializer's fields costs more than validating a record.
    serializer = view.get_serializer(partial=True)
    with transaction.atomic():
        return [_one(view, serializer, index, raw) for index, raw in enumerate(records)]


def _one(view, serializer, index: int, raw) -> dict:
    if not isinstance(raw, dict):
        return _outcome(index, "rejected", errors={NON_FIELD: ["Each record must be a JSON object."]})
    try:
        data = dict(serializer.run_validation(raw))
    except ValidationError as exc:
        return _outcome(index, "rejected", errors=flatten_errors(exc.detail))
    data.pop("version", None)
    existing = None
    try:
        with transaction.atomic():  # the savepoint of this record
            existing = view.find_existing(data)
            if existing is None:
                return _outcome(index, "created", view.create_record(data).pk)
            changed = view.batch_update(existing, data)
            return _outcome(index, "updated" if changed else "unchanged", existing.pk)
    except DjangoValidationError as exc:
        errors = django_errors(exc, view.error_field_names)
    except ValidationError as exc:
        errors = flatten_errors(exc.detail)
    except (PermissionDenied, ConflictError) as exc:
        errors = {NON_FIELD: [str(exc)]}
    return _outcome(index, "rejected", getattr(existing, "pk", None), errors)


def summary(results: list[dict]) -> dict:
    totals = dict.fromkeys(STATUSES, 0)
    for result in results:
        totals[result["status"]] += 1
    return {"results": results, "totals": totals}


class BatchOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=list(STATUSES))
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BatchTotalsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()


class BatchResultSerializer(serializers.Serializer):
    results = BatchOutcomeSerializer(many=True)
    totals = BatchTotalsSerializer()
