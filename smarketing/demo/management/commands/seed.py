from django.core.management.base import BaseCommand, CommandError

from smarketing.demo.seed import seed as seed_data


class Command(BaseCommand):
    help = (
        "Generate about twelve months of a B2B company's history (companies, contacts, campaigns, touchpoints, "
        "lifecycle changes, deals, tasks, notes) and bulk-load it. Adds to existing data. Deterministic per --seed. "
        "Creates no user accounts unless --demo-users is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, required=True, help="How many contacts to generate.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")
        parser.add_argument(
            "--touches-per-contact", type=float, default=20, help="Average timeline length (skewed; default 20)."
        )
        parser.add_argument("--companies", type=int, default=None, help="How many companies (default: contacts/8).")
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Also create the eight demo users (one an admin) with the shared, published demo password.",
        )
        parser.add_argument(
            "--automation",
            action="store_true",
            help="Then run the pillars that act on the loaded history: lead scores, the two demo workflows and "
            "the predictive model (`smarketing demo` does).",
        )

    def handle(
        self, *args, contacts, seed: int, touches_per_contact, companies, demo_users, automation=False, **options
    ):
        if not 1 <= contacts <= 50_000_000:
            raise CommandError("--contacts must be between 1 and 50,000,000.")
        if not 0 <= touches_per_contact <= 1000:
            raise CommandError("--touches-per-contact must be between 0 and 1000.")
        if companies is not None and not 1 <= companies <= contacts:
            raise CommandError("--companies must be between 1 and the number of contacts.")
        verbose = options.get("verbosity", 1) > 0
        seed_data(
            contacts=contacts,
            seed=seed,
            touches_per_contact=touches_per_contact,
            companies=companies,
            demo_users=demo_users,
            automation=automation,
            out=(lambda line: self.stdout.write(line)) if verbose else (lambda line: None),
        )
