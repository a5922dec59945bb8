from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from smarketing.jobs.worker import forget, new_worker_id, start_heartbeat


class Command(BaseCommand):
    help = "Run a background worker (processes every queue; run as many as you like)."

    def add_arguments(self, parser):
        parser.add_argument("--queue", default="*", help="Queues to process, comma-separated ('*' = all).")
        parser.add_argument("--batch", action="store_true", help="Run everything that is due, then exit.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")

    def handle(self, *args, queue, batch, interval, **options):
        worker_id = new_worker_id()
        stop = start_heartbeat(worker_id)
        try:
            if "django_tasks_rq" in settings.TASKS_BACKEND:
                queues = list(settings.RQ_QUEUES) if queue == "*" else queue.split(",")
                call_command("rqworker", *queues, burst=batch, with_scheduler=True)
                return
            call_command(
                "db_worker",
                queue_name=queue,
                batch=batch,
                interval=interval,
                worker_id=worker_id,
                reload=False,
                verbosity=options["verbosity"],
            )
        finally:
            stop.set()
            forget(worker_id)
