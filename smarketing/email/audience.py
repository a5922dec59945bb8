"""Freezing a campaign when it starts sending: its content (compiled once, links stored) and its audience (one
send row per recipient, created set-based by one INSERT ... SELECT).

Nothing here loops over contacts in Python: the sends come from the segment engine's SQL
(`segments.queries.audience_sql`), their tokens from SQL (`email.tokens.token_sql`), and local-time schedules are
one UPDATE per distinct time zone of the audience (a few hundred at most, whatever the audience size).
"""

from datetime import UTC, datetime, timedelta

from django.db import connection

from smarketing.email.models import EmailCampaign, EmailSend, ScheduleKind

# The A/B remainder waits for the winner: its send_after lies beyond any real schedule until the winner job
# releases it (email/tasks.py pick_ab_winners). A date, not a flag, so the claim index skips it for free.
HELD = datetime(9999, 1, 1, tzinfo=UTC)


def db_datetime(value: datetime):
    """A datetime as the ORM stores it, for raw SQL parameters (SQLite keeps naive UTC text; a raw aware value
    would be written and compared in another text form)."""
    return connection.ops.adapt_datetimefield_value(value)


def freeze_content(ec: EmailCampaign) -> None:
    """Compile the template once (MJML, CSS inlining, plain text) and store its links for tracking."""
    from smarketing.email import links, rendering

    template = ec.template
    html, text = rendering.compile_email(
        mode=template.mode, blocks=template.blocks, html=template.html, preheader=ec.preheader
    )
    ec.html, ec.text = links.freeze_links(ec, html, text)


def _audience(ec: EmailCampaign) -> tuple[str, list]:
    from smarketing.segments.queries import audience_sql

    return audience_sql(
        include_segments=list(ec.include_segments.all()),
        include_lists=list(ec.include_lists.all()),
        exclude_segments=list(ec.exclude_segments.all()),
        exclude_lists=list(ec.exclude_lists.all()),
    )


def freeze_audience(ec: EmailCampaign, *, now: datetime) -> int:
    """Create the sends (queued, due now) of every audience member; returns how many the campaign has.

    The unique (campaign, contact) constraint makes a repeat harmless: ON CONFLICT DO NOTHING skips members
    who already have their send (both SQLite and PostgreSQL speak it).
    """
    from smarketing.email.tokens import token_sql

    sql, params = _audience(ec)
    send_table = EmailSend._meta.db_table
    contact_table = "crm_contact"
    # Every NOT NULL column is listed: Django's field defaults live in Python, not in the table.
    statement = (
        f"INSERT INTO {send_table} (campaign_id, contact_id, email, token, variant, status, send_after, "
        "claimed_by, attempts, error, suppressed_reason, message_id, opens, machine_opens, clicks, "
        "machine_clicks, bounce_kind) "
        f"SELECT %s, c.id, c.email, {token_sql()}, '', 'queued', %s, '', 0, '', '', '', 0, 0, 0, 0, '' "
        f"FROM {contact_table} c WHERE c.id IN ({sql}) "
        # SQLite needs a WHERE before ON CONFLICT (else it reads it as a join's ON); the IN above is it.
        "ORDER BY c.id ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [ec.pk, db_datetime(now), *params])
    if ec.schedule_kind == ScheduleKind.LOCAL:
        schedule_local(ec, now=now)
    if ec.ab_test_percent and ec.subject_b.strip():
        split_ab(ec)
    return EmailSend.objects.filter(campaign_id=ec.pk).count()


def schedule_local(ec: EmailCampaign, *, now: datetime) -> None:
    """Each recipient's send_after = the campaign's day and local time in their zone (unknown or invalid zone →
    the owner's). A moment already past for a zone sends at once. One UPDATE per distinct zone."""
    from smarketing.email.services import default_zone, local_moment, zone_or_none

    send_table = EmailSend._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT c.time_zone FROM {send_table} s JOIN crm_contact c ON c.id = s.contact_id "
            "WHERE s.campaign_id = %s",
            [ec.pk],
        )
        zones = [row[0] for row in cursor.fetchall()]
    fallback = default_zone(ec)
    unknown = []
    for name in zones:
        zone = zone_or_none(name)
        if zone is None:
            unknown.append(name)
            continue
        moment = max(local_moment(ec, zone), now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {send_table} SET send_after = %s WHERE campaign_id = %s AND contact_id IN "
                "(SELECT id FROM crm_contact WHERE time_zone = %s)",
                [db_datetime(moment), ec.pk, name],
            )
    if unknown:
        moment = max(local_moment(ec, fallback), now)
        marks = ", ".join(["%s"] * len(unknown))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {send_table} SET send_after = %s WHERE campaign_id = %s AND contact_id IN "
                f"(SELECT id FROM crm_contact WHERE time_zone IN ({marks}))",
                [db_datetime(moment), ec.pk, *unknown],
            )


def split_ab(ec: EmailCampaign) -> None:
    """ab_test_percent of the sends, in random order (their tokens are random), get subject A or B half and
    half; the rest is held until the winner is known."""
    send_table = EmailSend._meta.db_table
    total = EmailSend.objects.filter(campaign_id=ec.pk).count()
    test = max(2, total * ec.ab_test_percent // 100) if total >= 2 else total
    half = test // 2
    with connection.cursor() as cursor:
        for variant, size in (("a", test - half), ("b", half)):
            cursor.execute(
                f"UPDATE {send_table} SET variant = %s WHERE id IN (SELECT id FROM {send_table} "
                "WHERE campaign_id = %s AND variant = '' ORDER BY token LIMIT %s)",
                [variant, ec.pk, size],
            )
        if test < total:
            cursor.execute(
                f"UPDATE {send_table} SET send_after = %s WHERE campaign_id = %s AND variant = ''",
                [db_datetime(HELD), ec.pk],
            )


def release_held(ec: EmailCampaign, winner: str, *, now: datetime) -> int:
    """The A/B remainder goes out with the winning subject (one UPDATE)."""
    return EmailSend.objects.filter(campaign_id=ec.pk, variant="", send_after__gte=HELD - timedelta(days=1)).update(
        variant=winner, send_after=now
    )
