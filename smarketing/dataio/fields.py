"""What a column can be imported into, and recognizing columns from HubSpot, Salesforce and Pipedrive headers.

A target is a built-in field ("email", "company_name", ...) or a custom property ("custom:<key>"). Synonyms are
compared after reducing both sides to lowercase letters and digits, so "E-mail", "Email Address" and
"email_address" all match. Earlier synonyms win when two columns claim the same target.
"""

from dataclasses import dataclass

from smarketing.crm.models import ObjectType, PropertyDefinition
from smarketing.dataio.values import key


@dataclass(frozen=True)
class Target:
    name: str  # "email", "custom:<key>"
    label: str
    kind: str  # how a cell is parsed; see importer.cleaners
    synonyms: tuple[str, ...] = ()
    max_length: int | None = None
    definition: PropertyDefinition | None = None


def _t(name, label, kind, synonyms, max_length=None) -> Target:
    return Target(name, label, kind, tuple(key(s) for s in synonyms), max_length)


CONTACT_TARGETS = [
    _t(
        "email",
        "Email",
        "email",
        [
            "Email",
            "E-mail",
            "Email Address",
            "E-mail Address",
            "Email 1",
            "Primary Email",
            "Work Email",
            "Person - Email",
            "Person - Email - Work",
            "Person - Email - Other",
            "Person - Email - Home",
            "Contact Email",
            "Mail",
            "emailaddress1",
        ],
    ),
    _t(
        "first_name",
        "First name",
        "text",
        ["First Name", "Firstname", "Given Name", "Forename", "First", "Person - First name"],
        100,
    ),
    _t(
        "last_name",
        "Last name",
        "text",
        ["Last Name", "Lastname", "Surname", "Family Name", "Last", "Person - Last name"],
        100,
    ),
    _t(
        "full_name",
        "Full name (split into first and last)",
        "full_name",
        ["Person - Name", "Full Name", "Name", "Contact Name", "Person Name", "Contact"],
    ),
    _t("title", "Job title", "text", ["Job Title", "Title", "Position", "Job Position", "Person - Job title"], 150),
    _t(
        "phone",
        "Phone",
        "text",
        [
            "Phone Number",
            "Phone",
            "Telephone",
            "Tel",
            "Mobile Phone Number",
            "Mobile Phone",
            "Mobile",
            "Work Phone",
            "Business Phone",
            "Person - Phone",
            "Person - Phone - Work",
            "Person - Phone - Mobile",
            "Person - Phone - Other",
            "Person - Phone - Home",
        ],
        50,
    ),
    _t(
        "company_name",
        "Company name (associates the contact)",
        "company_name",
        [
            "Associated Company",
            "Company Name",
            "Company",
            "Account Name",
            "Account",
            "Organization",
            "Organisation",
            "Organization - Name",
            "Person - Organization",
            "Organization Name",
            "Company / Account",
            "Employer",
        ],
    ),
    _t(
        "company_domain",
        "Company domain (associates the contact)",
        "company_domain",
        [
            "Company Domain Name",
            "Company Domain",
            "Website URL",
            "Website",
            "Web Site",
            "Domain",
            "Organization - Website",
            "Company Website",
        ],
    ),
    _t(
        "owner",
        "Owner (user email or name)",
        "owner",
        [
            "Contact owner",
            "Owner",
            "Lead Owner",
            "Contact Owner Email",
            "Owner Email",
            "Person - Owner",
            "HubSpot Owner",
            "Record Owner",
            "Owner Name",
        ],
    ),
    _t(
        "lifecycle_stage",
        "Lifecycle stage",
        "lifecycle",
        ["Lifecycle Stage", "Lifecyclestage", "Lifecycle", "Person - Lifecycle stage"],
    ),
    _t("lead_status", "Lead status", "lead_status", ["Lead Status", "hs_lead_status", "Status", "Lead Stage"]),
    _t(
        "external_id",
        "External ID (Record ID)",
        "external_id",
        [
            "Record ID",
            "Contact ID",
            "Lead ID",
            "Person ID",
            "Person - ID",
            "ID",
            "HubSpot ID",
            "VID",
            "Salesforce ID",
            "External ID",
            "Contact Record ID",
        ],
        100,
    ),
    _t(
        "created_at",
        "Create date",
        "datetime",
        [
            "Create Date",
            "Created Date",
            "Createdate",
            "Created",
            "Created At",
            "Date Created",
            "Creation Date",
            "Person - Person created",
            "Person created",
        ],
    ),
    _t(
        "first_source",
        "Original source",
        "source",
        ["Original Source", "Original Source Type", "Lead Source", "Source", "hs_analytics_source", "Person - Source"],
        50,
    ),
    _t("first_utm_source", "First UTM source", "text", ["UTM Source", "utm_source", "First UTM Source"], 100),
    _t("first_utm_medium", "First UTM medium", "text", ["UTM Medium", "utm_medium", "First UTM Medium"], 100),
    _t("first_utm_campaign", "First UTM campaign", "text", ["UTM Campaign", "utm_campaign", "First UTM Campaign"], 200),
]

COMPANY_TARGETS = [
    _t(
        "name",
        "Name",
        "text",
        [
            "Company Name",
            "Name",
            "Account Name",
            "Organization - Name",
            "Organization Name",
            "Organization",
            "Organisation",
            "Company",
            "Account",
        ],
        200,
    ),
    _t(
        "domain",
        "Domain",
        "domain",
        [
            "Company Domain Name",
            "Domain",
            "Company Domain",
            "Website URL",
            "Website",
            "Web Site",
            "URL",
            "Organization - Website",
            "Domain Name",
        ],
    ),
    _t("industry", "Industry", "text", ["Industry", "Organization - Industry", "Sector"], 100),
    _t(
        "employees",
        "Number of employees",
        "integer",
        [
            "Number of Employees",
            "Employees",
            "Employee Count",
            "NumberOfEmployees",
            "Headcount",
            "Organization - Number of employees",
        ],
    ),
    _t(
        "annual_revenue",
        "Annual revenue",
        "money",
        ["Annual Revenue", "Revenue", "AnnualRevenue", "Organization - Annual revenue"],
    ),
    _t(
        "country",
        "Country",
        "text",
        [
            "Country/Region",
            "Country",
            "Billing Country",
            "Country Region",
            "Organization - Country",
            "Organization - Address - Country",
            "Shipping Country",
        ],
        100,
    ),
    _t(
        "owner",
        "Owner (user email or name)",
        "owner",
        ["Company owner", "Account Owner", "Owner", "Organization - Owner", "Owner Email", "Record Owner"],
    ),
    _t(
        "external_id",
        "External ID (Record ID)",
        "external_id",
        [
            "Record ID",
            "Company ID",
            "Account ID",
            "Organization ID",
            "Organization - ID",
            "ID",
            "HubSpot ID",
            "Salesforce ID",
            "External ID",
        ],
        100,
    ),
    _t(
        "created_at",
        "Create date",
        "datetime",
        [
            "Create Date",
            "Created Date",
            "Createdate",
            "Created",
            "Created At",
            "Date Created",
            "Organization - Organization created",
            "Organization created",
        ],
    ),
]

DEAL_TARGETS = [
    _t(
        "name",
        "Deal name",
        "text",
        [
            "Deal Name",
            "Opportunity Name",
            "Deal - Title",
            "Dealname",
            "Name",
            "Title",
            "Deal",
            "Deal Title",
            "Opportunity",
        ],
        200,
    ),
    _t(
        "amount",
        "Amount",
        "money",
        ["Amount", "Deal - Value", "Value", "Deal Value", "Deal Amount", "Opportunity Amount", "Amount (converted)"],
    ),
    _t(
        "currency",
        "Currency",
        "currency",
        [
            "Currency",
            "Deal - Currency",
            "Currency Code",
            "Deal Currency Code",
            "Amount Currency",
            "Opportunity Currency",
            "Deal currency code",
        ],
    ),
    _t(
        "close_date",
        "Close date",
        "date",
        [
            "Close Date",
            "Closedate",
            "Expected Close Date",
            "Deal - Expected close date",
            "Expected close date",
            "Deal - Won time",
            "Deal - Close time",
        ],
    ),
    _t(
        "stage",
        "Stage",
        "stage",
        ["Deal Stage", "Stage", "Dealstage", "Deal - Stage", "Stage Name", "Opportunity Stage"],
    ),
    _t("pipeline", "Pipeline", "pipeline", ["Pipeline", "Deal - Pipeline", "Deal Pipeline"]),
    _t("status", "Status (open, won, lost)", "deal_status", ["Deal - Status", "Status", "Deal Status"]),
    _t(
        "company_name",
        "Company name (associates the deal)",
        "company_name",
        [
            "Associated Company",
            "Company Name",
            "Company",
            "Account Name",
            "Account",
            "Deal - Organization",
            "Organization",
            "Organization - Name",
            "Organization Name",
        ],
    ),
    _t(
        "company_domain",
        "Company domain (associates the deal)",
        "company_domain",
        ["Company Domain Name", "Company Domain", "Website", "Domain"],
    ),
    _t(
        "contact_email",
        "Contact email (associates the deal)",
        "contact_email",
        [
            "Associated Contact",
            "Contact Email",
            "Associated Contact Email",
            "Primary Contact Email",
            "Person - Email",
            "Contact Person Email",
            "Email",
        ],
    ),
    _t(
        "owner",
        "Owner (user email or name)",
        "owner",
        ["Deal owner", "Opportunity Owner", "Owner", "Deal - Owner", "Owner Email", "Record Owner"],
    ),
    _t("source", "Source", "source", ["Source", "Lead Source", "Deal Source", "Deal - Source", "Original Source"], 50),
    _t(
        "close_reason",
        "Close reason",
        "text",
        ["Closed Lost Reason", "Closed Won Reason", "Lost Reason", "Deal - Lost reason", "Close Reason", "Loss Reason"],
        200,
    ),
    _t(
        "external_id",
        "External ID (Record ID)",
        "external_id",
        ["Record ID", "Deal ID", "Opportunity ID", "Deal - ID", "ID", "HubSpot ID", "Salesforce ID", "External ID"],
        100,
    ),
    _t(
        "created_at",
        "Create date",
        "datetime",
        [
            "Create Date",
            "Created Date",
            "Createdate",
            "Created",
            "Created At",
            "Date Created",
            "Deal - Deal created",
            "Deal created",
        ],
    ),
]

BUILTIN = {ObjectType.CONTACT: CONTACT_TARGETS, ObjectType.COMPANY: COMPANY_TARGETS, ObjectType.DEAL: DEAL_TARGETS}
CUSTOM_KINDS = {"text": "custom", "number": "custom", "choice": "custom", "boolean": "custom", "date": "custom_date"}

# Columns of the source systems that carry records' own prefixes ("Person - Email - Work").
PREFIXES = ("person", "contact", "lead", "deal", "opportunity", "account")
SUFFIXES = ("work", "home", "other", "primary", "mobile")


def targets(object_type: str, definitions=None) -> list[Target]:
    """Every target of `object_type`: built-in fields, then custom properties (matched by label and key)."""
    if definitions is None:
        definitions = PropertyDefinition.objects.filter(object_type=object_type)
    result = list(BUILTIN[object_type])
    for definition in definitions:
        result.append(
            Target(
                f"custom:{definition.key}",
                f"{definition.label} (custom property)",
                CUSTOM_KINDS.get(definition.type, "custom"),
                (key(definition.label), key(definition.key)),
                definition=definition,
            )
        )
    return result


def _variants(header: str) -> list[tuple[str, int]]:
    """Normalized spellings of a header with a penalty: exact first, then without a "Person - " prefix etc."""
    variants = [(key(header), 0)]
    parts = [p.strip() for p in header.replace("–", "-").split(" - ") if p.strip()]
    if len(parts) > 1 and key(parts[0]) in PREFIXES:
        rest = parts[1:]
        variants.append((key(" ".join(rest)), 100))
        if len(rest) > 1 and key(rest[-1]) in SUFFIXES:
            variants.append((key(" ".join(rest[:-1])), 150))
    return variants


def auto_map(header: list[str], object_type: str, definitions=None) -> list[str]:
    """A target name (or "" to ignore) per column; each target goes to at most one column, best match first."""
    all_targets = targets(object_type, definitions)
    candidates = []
    for column, name in enumerate(header):
        for variant, penalty in _variants(name):
            for target in all_targets:
                if variant in target.synonyms:
                    rank = target.synonyms.index(variant) + penalty
                    # Custom properties whose label matches exactly beat a built-in's distant synonym.
                    candidates.append((rank, column, target.name))
    candidates.sort()
    mapping = [""] * len(header)
    taken = set()
    for _rank, column, name in candidates:
        if mapping[column] or name in taken:
            continue
        mapping[column] = name
        taken.add(name)
    return mapping


REQUIRED = {
    ObjectType.CONTACT: (("email", "external_id"), "Map a column to Email: contacts are matched and created by email."),
    ObjectType.COMPANY: (("name", "domain", "external_id"), "Map a column to Name or Domain."),
    ObjectType.DEAL: (("name", "external_id"), "Map a column to Deal name."),
}


def check_mapping(mapping: list[str], header: list[str], object_type: str, definitions=None) -> list[str]:
    """Problems with a mapping a person chose (unknown targets, a target used twice, nothing to match on)."""
    by_name = {t.name: t for t in targets(object_type, definitions)}
    problems = []
    used: dict[str, int] = {}
    if len(mapping) != len(header):
        return ["The mapping does not match the file's columns; start again."]
    for column, name in enumerate(mapping):
        if not name:
            continue
        if name not in by_name:
            problems.append(f"Column “{header[column]}”: unknown field “{name}”.")
            continue
        if name in used:
            problems.append(
                f"“{header[used[name]]}” and “{header[column]}” are both mapped to {by_name[name].label}; "
                "set one of them to “Don't import”."
            )
        used[name] = column
    fields, message = REQUIRED[object_type]
    if not any(f in used for f in fields):
        problems.append(message)
    if object_type == ObjectType.CONTACT and "full_name" in used and ({"first_name", "last_name"} & set(used)):
        problems.append("Map either Full name or First name / Last name, not both.")
    return problems
