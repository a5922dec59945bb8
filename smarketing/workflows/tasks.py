"""The workflow jobs: the runner and the periodic triggers (segment entered/left, date reached)."""

from datetime import timedelta

from django_tasks import task

from smarketing.jobs.periodic import periodic


@periodic(every=timedelta(seconds=10))
@task()
def run_due_enrollments() -> int:
    """Run the steps that are due (also enqueued right after enrollments commit)."""
    from smarketing.workflows import runner

    return runner.run_due()


@periodic(every=timedelta(minutes=5))
@task()
def check_periodic_triggers() -> int:
    """Enroll contacts who entered or left a trigger segment, or whose date property is near."""
    from smarketing.workflows import triggers

    return triggers.check_periodic()
