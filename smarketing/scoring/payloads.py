"""The payload of `contact.score_changed`, built once: in Python for one contact, in SQL for a set-based run.

Both forms produce the same keys and values (scoring/tests/test_recompute.py compares them), so a webhook
subscriber or a workflow trigger cannot tell which path wrote the event.
"""


def score_changed(*, contact_id: int, email: str, group, fit: int, engagement: int, old_total: int) -> dict:
    """{id, email, group_id, group, fit, engagement, total, old_total, mql_threshold, crossed_threshold}."""
    total = fit + engagement
    threshold = group.mql_threshold
    return {
        "id": contact_id,
        "email": email,
        "group_id": group.pk,
        "group": group.name,
        "fit": fit,
        "engagement": engagement,
        "total": total,
        "old_total": old_total,
        "mql_threshold": threshold,
        "crossed_threshold": threshold is not None and old_total < threshold <= total,
    }


def score_changed_sql(vendor: str, group) -> tuple[str, list]:
    """The same payload as a SQL expression over `d` (scoring_diff) and `c` (crm_contact), and its parameters."""
    threshold = group.mql_threshold
    old_total = "(d.old_fit + d.old_eng)"
    total = "(d.new_fit + d.new_eng)"
    if threshold is None:
        crossed = "1 = 0"
        crossed_params = []
    else:
        crossed = f"{old_total} < %s AND %s <= {total}"
        crossed_params = [threshold, threshold]
    if vendor == "postgresql":
        sql = (
            "jsonb_build_object('id', d.contact_id, 'email', c.email, 'group_id', %s, 'group', CAST(%s AS TEXT),"
            " 'fit', d.new_fit, 'engagement', d.new_eng, 'total', " + total + ", 'old_total', " + old_total + ","
            " 'mql_threshold', CAST(%s AS INTEGER), 'crossed_threshold', (" + crossed + "))"
        )
    else:
        sql = (
            "json_object('id', d.contact_id, 'email', c.email, 'group_id', %s, 'group', %s,"
            " 'fit', d.new_fit, 'engagement', d.new_eng, 'total', " + total + ", 'old_total', " + old_total + ","
            " 'mql_threshold', %s, 'crossed_threshold', json(CASE WHEN " + crossed + " THEN 'true' ELSE 'false' END))"
        )
    return sql, [group.pk, group.name, threshold, *crossed_params]
