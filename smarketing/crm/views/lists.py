"""Placeholder: replaced by the real views."""

from django.http import HttpResponse


def audit_log(request, *args, **kwargs):
    return HttpResponse("audit_log")


def company_bulk(request, *args, **kwargs):
    return HttpResponse("company_bulk")


def company_create(request, *args, **kwargs):
    return HttpResponse("company_create")


def company_delete(request, *args, **kwargs):
    return HttpResponse("company_delete")


def company_edit(request, *args, **kwargs):
    return HttpResponse("company_edit")


def company_list(request, *args, **kwargs):
    return HttpResponse("company_list")


def company_merge(request, *args, **kwargs):
    return HttpResponse("company_merge")


def contact_bulk(request, *args, **kwargs):
    return HttpResponse("contact_bulk")


def contact_create(request, *args, **kwargs):
    return HttpResponse("contact_create")


def contact_delete(request, *args, **kwargs):
    return HttpResponse("contact_delete")


def contact_edit(request, *args, **kwargs):
    return HttpResponse("contact_edit")


def contact_list(request, *args, **kwargs):
    return HttpResponse("contact_list")


def contact_merge(request, *args, **kwargs):
    return HttpResponse("contact_merge")


def deal_bulk(request, *args, **kwargs):
    return HttpResponse("deal_bulk")


def deal_create(request, *args, **kwargs):
    return HttpResponse("deal_create")


def deal_delete(request, *args, **kwargs):
    return HttpResponse("deal_delete")


def deal_edit(request, *args, **kwargs):
    return HttpResponse("deal_edit")


def deal_list(request, *args, **kwargs):
    return HttpResponse("deal_list")


def property_delete(request, *args, **kwargs):
    return HttpResponse("property_delete")


def property_list(request, *args, **kwargs):
    return HttpResponse("property_list")


def py(request, *args, **kwargs):
    return HttpResponse("py")
