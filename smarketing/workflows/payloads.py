"""The payload of each workflow outbox event, built once for the per-contact services and the bulk writers."""


def enrolled(
    *,
    enrollment_id: int,
    workflow_id: int,
    workflow_name: str,
    contact_id: int,
    sequence: int,
    enrolled_by: int | None = None,
) -> dict:
    return {
        "enrollment_id": enrollment_id,
        "workflow_id": workflow_id,
        "workflow": workflow_name,
        "contact_id": contact_id,
        "sequence": sequence,
        "enrolled_by_workflow": enrolled_by,
    }


def completed(
    *, enrollment_id: int, workflow_id: int, workflow_name: str, contact_id: int, status: str, reason: str = ""
) -> dict:
    """`workflow.completed`: also sent when the contact reached the goal, left or failed (`status` says)."""
    return {
        "enrollment_id": enrollment_id,
        "workflow_id": workflow_id,
        "workflow": workflow_name,
        "contact_id": contact_id,
        "status": status,
        "reason": reason,
    }
