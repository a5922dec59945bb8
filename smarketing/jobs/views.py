"""The job list for admins: recent jobs, periodic jobs and workers."""

import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from smarketing.jobs import access, outbox, queries
from smarketing.jobs.retry import ATTEMPT_KWARG


def job_list(request):
    access.require_admin(request.user)
    status = request.GET.get("status", "")
    if status not in queries.STATUS_FILTERS:
        status = ""
    workers = queries.worker_rows()
    context = {
        "status": status,
        "statuses": list(queries.STATUS_LABELS.items()),
        "database_backend": queries.uses_database_backend(),
        "periodic": queries.periodic_rows(),
        "workers": workers,
        "workers_alive": sum(w.alive for w in workers),
        "heartbeat_max_age": settings.WORKER_HEARTBEAT_MAX_AGE,
        "consumers": queries.consumer_rows(),
        "dead_letters": queries.dead_letters(),
    }
    if context["database_backend"]:
        context["page"] = queries.job_page(status or None, request.GET.get("after"), settings.PAGE_SIZE)
        context["stats"] = queries.queue_stats()
    return render(request, "jobs/job_list.html", context)


def _get_result(job_id: uuid.UUID):
    from django_tasks_db.models import DBTaskResult

    if not queries.uses_database_backend():
        raise Http404("Job results are kept by the database backend only.")
    try:
        return DBTaskResult.objects.get(id=job_id)
    except DBTaskResult.DoesNotExist:
        raise Http404("No such job (finished jobs are pruned after a while).")


def job_detail(request, job_id):
    access.require_admin(request.user)
    result = _get_result(job_id)
    row = queries.to_row(result, timezone.now())
    return render(
        request,
        "jobs/job_detail.html",
        {
            "job": row,
            "result": result,
            "arguments": json.dumps(result.args_kwargs, indent=2, sort_keys=True, default=str),
            "return_value": json.dumps(result.return_value, indent=2, sort_keys=True, default=str),
            "can_run_again": result.status == "FAILED",
        },
    )


@require_POST
def job_run_again(request, job_id):
    """Enqueue a failed job again with the same arguments, as a fresh first attempt."""
    access.require_admin(request.user)
    result = _get_result(job_id)
    if result.status != "FAILED":
        messages.error(request, "Only failed jobs can be run again.")
        return redirect("jobs:job_detail", job_id=result.id)
    try:
        task = import_string(result.task_path)
    except ImportError:
        messages.error(request, f"The task {result.task_path} no longer exists in the code.")
        return redirect("jobs:job_detail", job_id=result.id)
    kwargs = dict(result.args_kwargs.get("kwargs", {}))
    kwargs.pop(ATTEMPT_KWARG, None)
    new = task.using(queue_name=result.queue_name, priority=result.priority).enqueue(
        *result.args_kwargs.get("args", []), **kwargs
    )
    messages.success(request, f"{task.name} queued again.")
    return redirect("jobs:job_detail", job_id=new.id)


@require_POST
def dead_letter_retry(request, letter_id):
    """Hand a dead letter's event to its consumer again (after the handler was fixed)."""
    access.require_admin(request.user)
    try:
        done = outbox.retry_dead_letter(letter_id)
    except LookupError as exc:
        messages.error(request, str(exc))
    else:
        if done:
            messages.success(request, "The event was handled; the dead letter is gone.")
        else:
            messages.error(request, "The consumer failed on the event again; see the error below.")
    return redirect("jobs:job_list")
