"""The `smarketing` command: the app's own commands plus every Django management command."""

import os
import sys

OWN_COMMANDS = {
    "demo": "set up the database, load demo data and users, then serve the app with a worker",
    "serve": "serve the web app with a production WSGI server (gunicorn)",
    "worker": "run a background worker",
    "migrate": "create or update the database tables",
    "createuser": "create a user: --email --team --role",
    "seed": "generate realistic demo/benchmark data: --contacts N",
    "import": "import contacts, companies or deals from a CSV file (HubSpot, Salesforce, Pipedrive exports)",
    "mailsink": "a local SMTP sink for the demo's mail viewer; reads bounce reports: --bind 127.0.0.1:1025",
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print("usage: smarketing COMMAND [options]   (smarketing COMMAND --help for a command's options)\n")
        print("Commands:")
        for name, text in OWN_COMMANDS.items():
            print(f"  {name:<12}{text}")
        print("\nEvery Django management command works too (smarketing check, smarketing shell, ...).")
        print("Run 'smarketing django-help' to list them.")
        return
    if argv[1] == "django-help":
        argv[1] = "help"
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
