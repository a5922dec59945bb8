"""The payload of the handoff's events (lead.routed, lead.accepted, lead.rejected, sla.breached)."""


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def handoff(h, contact=None) -> dict:
    contact = contact or h.contact
    return {
        "id": h.pk,
        "contact_id": h.contact_id,
        "email": contact.email if contact is not None else "",
        "owner_id": h.owner_id,
        "team_id": h.team_id,
        "status": h.status,
        "routed_how": h.routed_how,
        "started_at": _iso(h.started_at),
        "due_at": _iso(h.due_at),
        "first_touch_at": _iso(h.first_touch_at),
        "breached_at": _iso(h.breached_at),
        "decided_at": _iso(h.decided_at),
        "reason": h.reason.label if h.reason_id else "",
        "reason_text": h.reason_text,
        "source": h.source,
        "campaign_id": h.campaign_id,
        "form_id": h.form_id,
    }
