"""call_webhook: POST a signed JSON body about the contact and the workflow to a URL, through the SSRF-safe
webhook sender.

The step records a `WebhookCall` (one per StepRun) in its transaction; a job posts it after commit, under a
lease, retrying 5xx and network errors with a backoff. The body carries the StepRun id as its `id` and the
`Idempotency-Key` header, so a receiver that sees a retry (a worker died after the POST, before recording the
answer) can tell it is the same call. Signed like the outgoing webhooks (docs/webhooks.md), with the step's
own secret.
"""

import json
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import only, params_of, text


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(24)


def body_of(ctx: StepContext) -> str:
    """The JSON body: the step run's id, the workflow, the contact's snapshot (crm's payload function)."""
    from smarketing.crm import payloads

    return json.dumps(
        {
            "id": f"steprun_{ctx.step_run.pk}",
            "event": "workflow.step",
            "occurred_at": ctx.now.isoformat(),
            "data": {
                "workflow": {"id": ctx.workflow.pk, "name": ctx.workflow.name, "step": ctx.step.get("id")},
                "enrollment": ctx.enrollment.pk,
                "contact": payloads.record(ctx.contact),
            },
        },
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


@action("call_webhook", label="Call a webhook")
class CallWebhook(Action):
    def validate(self, params: dict) -> dict:
        from smarketing.webhooks.targets import UnsafeTarget, check_url

        params = dict(params or {})
        only(params, {"url", "secret"})
        url = text(params, "url", label="the URL", max_length=2000, required=True)
        try:
            check_url(url, resolve=False)  # the address is vetted again, resolved, on every call
        except UnsafeTarget as exc:
            raise ValidationError({"url": str(exc)}) from None
        secret = text(params, "secret", label="the secret", max_length=100) or new_secret()
        return {"url": url, "secret": secret}

    def describe(self, params: dict) -> str:
        from urllib.parse import urlsplit

        return f"Call the webhook at {urlsplit(params.get('url', '')).hostname or 'an address'}"

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.workflows import webhook_calls
        from smarketing.workflows.models import WebhookCall

        params = params_of(ctx)
        call, _ = WebhookCall.objects.get_or_create(
            step_run=ctx.step_run,
            defaults={"url": params["url"], "request_body": body_of(ctx), "next_attempt_at": timezone.now()},
        )
        transaction.on_commit(lambda: webhook_calls.post_webhook_call.enqueue(call.pk))
        return StepOutcome(summary=self.describe(params)[:500].replace("Call", "Calling", 1), result={"call": call.pk})

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome(summary=f"Would POST the contact and the workflow to {params_of(ctx).get('url', '')}"[:500])
