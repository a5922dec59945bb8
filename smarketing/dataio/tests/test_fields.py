"""Recognizing the headers of real HubSpot, Salesforce and Pipedrive exports."""

from django.test import TestCase

from smarketing.crm.models import PropertyDefinition
from smarketing.dataio.fields import auto_map, check_mapping


def mapped(header, object_type, definitions=()):
    return dict(zip(header, auto_map(header, object_type, list(definitions)), strict=True))


class HeaderRecognitionTests(TestCase):
    def test_hubspot_contacts_export(self):
        header = [
            "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Contact owner", "Lead Status",
            "Marketing contact status", "Create Date", "Last Activity Date", "Associated Company", "Lifecycle Stage",
            "Job Title", "Company Name", "Original Source", "Country/Region",
        ]  # fmt: skip
        result = mapped(header, "contact")
        self.assertEqual(
            {k: v for k, v in result.items() if v},
            {
                "Record ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
                "Phone Number": "phone", "Contact owner": "owner", "Lead Status": "lead_status",
                "Create Date": "created_at", "Associated Company": "company_name",
                "Lifecycle Stage": "lifecycle_stage", "Job Title": "title", "Original Source": "first_source",
            },
        )  # fmt: skip
        # Two columns could be the company name: the association wins, the other is left for the person.
        self.assertEqual(result["Company Name"], "")

    def test_hubspot_companies_and_deals_exports(self):
        companies = mapped(
            ["Record ID", "Company name", "Company Domain Name", "Industry", "Number of Employees", "Annual Revenue",
             "Company owner", "Create Date", "Country/Region", "Website URL"],
            "company",
        )  # fmt: skip
        self.assertEqual(companies["Company Domain Name"], "domain")
        self.assertEqual(companies["Website URL"], "")  # the domain column already won
        self.assertEqual(companies["Number of Employees"], "employees")
        self.assertEqual(companies["Annual Revenue"], "annual_revenue")
        self.assertEqual(companies["Country/Region"], "country")
        deals = mapped(
            ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Deal owner", "Create Date",
             "Associated Company", "Associated Contact"],
            "deal",
        )  # fmt: skip
        self.assertEqual(
            [deals[h] for h in ("Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Associated Contact")],
            ["name", "stage", "pipeline", "amount", "close_date", "contact_email"],
        )

    def test_salesforce_exports(self):
        contacts = mapped(
            ["Contact ID", "First Name", "Last Name", "Title", "Account Name", "Email", "Phone", "Mailing Country",
             "Lead Source", "Contact Owner", "Created Date"],
            "contact",
        )  # fmt: skip
        self.assertEqual(contacts["Title"], "title")
        self.assertEqual(contacts["Account Name"], "company_name")
        self.assertEqual(contacts["Lead Source"], "first_source")
        self.assertEqual(contacts["Contact ID"], "external_id")
        self.assertEqual(contacts["Mailing Country"], "")  # contacts have no country: reported, not dropped
        api_names = mapped(["Id", "FirstName", "LastName", "Email", "LeadSource", "CreatedDate"], "contact")
        self.assertEqual(
            list(api_names.values()), ["external_id", "first_name", "last_name", "email", "first_source", "created_at"]
        )
        opportunities = mapped(
            [
                "Opportunity Name",
                "Account Name",
                "Stage",
                "Amount",
                "Close Date",
                "Opportunity Owner",
                "Opportunity ID",
            ],
            "deal",
        )
        self.assertEqual(
            list(opportunities.values()),
            ["name", "company_name", "stage", "amount", "close_date", "owner", "external_id"],
        )

    def test_pipedrive_exports(self):
        people = mapped(
            ["Person - Name", "Person - Email - Work", "Person - Phone - Work", "Person - Organization",
             "Person - Owner", "Person - Label", "Organization - Name"],
            "contact",
        )  # fmt: skip
        self.assertEqual(people["Person - Name"], "full_name")
        self.assertEqual(people["Person - Email - Work"], "email")
        self.assertEqual(people["Person - Phone - Work"], "phone")
        self.assertEqual(people["Person - Organization"], "")  # "Organization - Name" ranks first
        self.assertEqual(people["Organization - Name"], "company_name")
        self.assertEqual(people["Person - Owner"], "owner")
        deals = mapped(
            [
                "Deal - Title",
                "Deal - Value",
                "Deal - Currency",
                "Deal - Stage",
                "Deal - Status",
                "Deal - Organization",
                "Deal - Expected close date",
                "Deal - ID",
            ],
            "deal",
        )
        self.assertEqual(
            list(deals.values()),
            ["name", "amount", "currency", "stage", "status", "company_name", "close_date", "external_id"],
        )

    def test_synonyms_and_spelling(self):
        result = mapped(["E-mail", "EMAIL_ADDRESS", "first_name", "Surname"], "contact")
        self.assertEqual(list(result.values()), ["email", "", "first_name", "last_name"])

    def test_custom_properties_match_by_label_or_key(self):
        definition = PropertyDefinition.objects.create(
            object_type="contact", key="plan", label="Subscription plan", type="text"
        )
        result = mapped(["Email", "Subscription Plan", "City"], "contact", [definition])
        self.assertEqual(result["Subscription Plan"], "custom:plan")
        self.assertEqual(result["City"], "")


class MappingChecksTests(TestCase):
    def test_problems(self):
        header = ["Email", "E-mail", "Name"]
        self.assertEqual(check_mapping(["email", "", "full_name"], header, "contact"), [])
        problems = check_mapping(["email", "email", ""], header, "contact")
        self.assertIn("both mapped to Email", problems[0])
        self.assertIn("Map a column to Email", check_mapping(["", "", "full_name"], header, "contact")[0])
        self.assertIn("unknown field", check_mapping(["email", "password", ""], header, "contact")[0])
        self.assertIn("not both", check_mapping(["email", "first_name", "full_name"], header, "contact")[0])
