"""How a batch-upsert record finds the existing record it refers to, and the property definitions it is checked
against (the batch machinery itself is api/batch.py)."""

from django.core.exceptions import ValidationError as DjangoValidationError

from smarketing.crm.models import Company, Contact, Deal, PropertyDefinition
from smarketing.crm.normalize import normalize_domain, normalize_email
from smarketing.crm.services import OBJECT_TYPES


def definitions_for(model) -> list[PropertyDefinition]:
    return list(PropertyDefinition.objects.filter(object_type=OBJECT_TYPES[model]))


def match_contact(data: dict):
    if data.get("email"):
        try:
            email = normalize_email(data["email"])
        except DjangoValidationError as exc:
            raise DjangoValidationError({"email": exc.messages})
        return Contact.objects.filter(email=email).first()
    if data.get("external_id"):
        return Contact.objects.filter(external_id=data["external_id"]).first()
    raise DjangoValidationError({"email": "Email is required to match or create a contact."})


def match_company(data: dict):
    if data.get("external_id"):
        found = Company.objects.filter(external_id=data["external_id"]).first()
        if found is not None:
            return found
    if data.get("domain"):
        try:
            domain = normalize_domain(data["domain"])
        except DjangoValidationError as exc:
            raise DjangoValidationError({"domain": exc.messages})
        return Company.objects.filter(domain=domain).first()
    return None


def match_deal(data: dict):
    if not data.get("external_id"):
        # Deals have no natural key: without one a re-sent batch would create every deal twice.
        raise DjangoValidationError({"external_id": "Required to match deals in a batch upsert."})
    return Deal.objects.filter(external_id=data["external_id"]).first()
