"""Placeholder: replaced by the real views."""

from django.http import HttpResponse


def add_note(request, *args, **kwargs):
    return HttpResponse("add_note")


def add_task(request, *args, **kwargs):
    return HttpResponse("add_task")


def company_detail(request, *args, **kwargs):
    return HttpResponse("company_detail")


def contact_detail(request, *args, **kwargs):
    return HttpResponse("contact_detail")


def contact_lifecycle(request, *args, **kwargs):
    return HttpResponse("contact_lifecycle")


def deal_detail(request, *args, **kwargs):
    return HttpResponse("deal_detail")


def deal_move(request, *args, **kwargs):
    return HttpResponse("deal_move")


def home(request, *args, **kwargs):
    return HttpResponse("home")


def log_activity(request, *args, **kwargs):
    return HttpResponse("log_activity")


def pipeline_board(request, *args, **kwargs):
    return HttpResponse("pipeline_board")


def py(request, *args, **kwargs):
    return HttpResponse("py")


def task_complete(request, *args, **kwargs):
    return HttpResponse("task_complete")


def task_list(request, *args, **kwargs):
    return HttpResponse("task_list")


def timeline_partial(request, *args, **kwargs):
    return HttpResponse("timeline_partial")
