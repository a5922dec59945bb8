"""One contact's journey as rows: first touch, lifecycle history, marketing and sales touches, tasks, notes.

Functions of the running `Generator` (`gen`): they draw from its random stream in a fixed order, so moving code
between them changes the seed's output.
"""

import html
import math
from bisect import bisect_left
from operator import itemgetter

from django.utils.html import strip_tags

from smarketing.crm import summaries
from smarketing.crm.demo import words as W
from smarketing.crm.demo.campaigns import CampaignSpec
from smarketing.crm.demo.common import DAY, HOUR, RANK, REASONS, WINDOW_DAYS, _dumps, _Person
from smarketing.crm.lifecycle_rules import is_backward
from smarketing.crm.normalize import contact_search_keys


def contact_rows(gen, rows: dict, p: _Person, company: dict | None) -> None:  # noqa: C901
    rng = gen.rng
    rnd = rng.random
    clock = gen.clock
    end = clock.end
    origin = gen.origin
    ev: list = []
    owner = p.owner
    channel = p.channel
    txt = gen.txt

    # Lifecycle history: the path so far plus what the deal did to it.
    path = list(p.path)
    d = p.deal
    if d is not None and d.outcome == "won":
        won_at = d.moves[-1][1]
        path.append(("customer", won_at))
        if p.target == "evangelist":
            at = won_at + (d.after if p is d.primary and d.after else gen._gap("evangelist"))
            if at < end - HOUR:
                path.append(("evangelist", at))

    # First touch: the acquisition session that created the contact.
    t0 = p.t_first
    created = p.t_created
    acq = None
    form = ""
    if channel == "paid":
        acq = _active(gen, "paid", t0) or gen.seo
    elif channel == "social":
        acq = _active(gen, "social", t0) or gen.seo
    elif channel == "content":
        acq = _active(gen, "content", t0) or gen.seo
    elif channel == "organic":
        acq = gen.seo
    elif channel == "referral":
        acq = gen.partners
    elif channel == "outreach":
        acq = _active(gen, "outreach", t0)
    elif channel == "webinar":
        acq = gen.upcoming["webinar"][clock.day(t0)]
        if acq is not None and acq.starts_at <= created:
            acq = gen.upcoming["webinar"][clock.day(t0) + 1] if clock.day(t0) < WINDOW_DAYS else None
        if acq is None:
            channel = p.channel = "organic"
            acq = gen.seo
    elif channel == "event":
        acq = p.acq
    acq_id = acq.id if acq else None
    src = acq.utm_source if acq and acq.utm_source else channel
    if channel == "outreach":
        subject = "Sales email: Intro: how teams like yours align on KPIs"
        ev.append((t0, None, "email_logged", "sales", owner, acq_id, "", subject, "{}"))
    elif channel == "event":
        ev.append((t0, None, "event_attended", "marketing", None, acq_id, src, txt[acq_id]["event"], "{}"))
    elif channel == "webinar":
        form = "Webinar registration"
        ev.append(
            (
                created,
                None,
                "form_submitted",
                "marketing",
                None,
                acq_id,
                src,
                txt[acq_id]["register"],
                txt[acq_id]["register_details"],
            )
        )
        if acq.starts_at < end and rnd() < 0.6:
            ev.append(
                (
                    acq.starts_at + int(rnd() * 300),
                    None,
                    "webinar_attended",
                    "marketing",
                    None,
                    acq_id,
                    src,
                    txt[acq_id]["attended"],
                    f'{{"minutes": {20 + int(rnd() * 40)}}}',
                )
            )
    else:
        forms = W.FORMS_BY_CHANNEL.get(channel, ["Contact sales"])
        form = forms[int(rnd() * len(forms))]
        if channel == "paid":
            ev.append((t0, None, "ad_clicked", "marketing", None, acq_id, src, txt[acq_id]["ad"], "{}"))
            page = acq.landing
        elif channel == "content":
            page = acq.landing
        else:
            page = gen.t_page[int(rnd() * len(gen.t_page))]
        ev.append(
            (
                t0 + 5,
                None,
                "page_viewed",
                "marketing",
                None,
                acq_id if channel != "direct" else None,
                src,
                gen.page_summary.get(page, f"Viewed {page}"),
                gen.page_details.get(page) or _dumps({"url": page}),
            )
        )
        if channel == "content":
            ev.append(
                (
                    created,
                    None,
                    "form_submitted",
                    "marketing",
                    None,
                    acq_id,
                    src,
                    txt[acq_id]["download"],
                    txt[acq_id]["download_details"],
                )
            )
            ev.append(
                (created + 20, None, "content_viewed", "marketing", None, acq_id, src, txt[acq_id]["content"], "{}")
            )
        else:
            ev.append(
                (
                    created,
                    None,
                    "form_submitted",
                    "marketing",
                    None,
                    acq_id if channel != "direct" else None,
                    src,
                    *gen.form_txt[form],
                )
            )
    first_camp = acq if channel not in ("direct",) else None

    # The contact and its lifecycle history.
    created_actor = owner if channel == "outreach" else None
    first_stage = path[0][0]
    summary = summaries.contact_created(first_stage)
    ev.append((created, None, "contact_created", "system", created_actor, None, channel, summary, gen.created_details))
    lc = rows["lifecycle"]
    lc.append((gen.ids.take("lifecycle"), p.id, "", first_stage, clock.ts(created), created_actor, origin, "Created"))
    prev = first_stage
    mql_at = sql_at = None
    for stage, at in path[1:]:
        if stage == "opportunity":
            reason = "Deal created" if p is d.primary else f"Added to deal {d.name}"[:300]
            actor = d.owner
        elif stage == "customer":
            reason, actor = "Deal won", d.owner
        elif stage == "sql":
            reasons = REASONS["sql"]
            reason, actor = reasons[int(rnd() * len(reasons))], owner
            sql_at = at
        else:
            reasons = REASONS[stage]
            reason, actor = reasons[int(rnd() * len(reasons))], None
            if stage == "mql":
                mql_at = at
        lc.append((gen.ids.take("lifecycle"), p.id, prev, stage, clock.ts(at), actor, origin, reason))
        summary = summaries.lifecycle_changed(prev, stage, backward=is_backward(prev, stage))
        details = _dumps({"from": prev, "to": stage, "reason": reason, "origin": origin})
        ev.append((at, None, "lifecycle_changed", "system", actor, None, "", summary, details))
        prev = stage
    if d is not None and p is d.primary:
        ev.extend(gen._deal_events(d))
        if first_camp is not None:
            row = rows["deal"][d.row_index]
            rows["deal"][d.row_index] = row[:-1] + (first_camp.id,)
    final = path[-1][0]
    changed_at = path[-1][1]

    # Consent: given on the first form (or a badge scan); outbound contacts rest on legitimate interest. Some
    # leave later (unsubscribe or, rarely, a spam complaint) and some addresses bounce: decided here, played
    # out against the emails they actually received once the timeline is drawn (_leave).
    leaves = False
    if channel == "outreach":
        consent = ("granted", clock.ts(created), "legitimate_interest", "Outbound prospecting (B2B)")
    elif rnd() < 0.78:
        where = f"Badge scan: {acq.name}" if channel == "event" and acq else f"Form: {form or 'Newsletter signup'}"
        consent = ("granted", clock.ts(created), "consent", where[:200])
        leaves = rnd() < 0.05
    else:
        consent = ("unknown", None, "", "")
    may_email = consent[0] == "granted"
    bounces = may_email and not leaves and rnd() < 0.012
    # One send per campaign and contact (email.EmailSend is unique): campaign id -> (sent at, its touches).
    mailed: dict[int, tuple[int, list]] = {}
    # The campaign emails they can still get: one-shot sends after they joined, the MQL follow-up, the welcome.
    pool: list[CampaignSpec] = []
    if may_email:
        pool = gen.email_oneshots[bisect_left(gen.email_starts, created) :]
        if mql_at is not None and gen.mql_nurture is not None:
            pool.append(gen.mql_nurture)
        pool.append(gen.welcome)

    # Sales works the contact from MQL (outbound: from the start) until the deal closes, or on.
    if owner is None or (mql_at is None and channel != "outreach" and d is None):
        sales_from = sales_to = None
    else:
        sales_from = t0 if channel == "outreach" else (mql_at or sql_at or (d.created if d else created))
        sales_to = end
        if d is not None and d.outcome == "lost" and final == "opportunity":
            sales_to = min(end, d.moves[-1][1] + 14 * DAY)
        if sales_to <= sales_from:
            sales_from = sales_to = None

    # Tasks and notes for the sales users.
    if sales_from is not None:
        _tasks_and_notes(gen, rows, ev, p, company, d, final, sales_from, sales_to)

    # Fill the timeline up to its drawn length with marketing and sales touches.
    if p.heavy:
        target = 5000 + int(rnd() * 1000)
    else:
        target = min(800, int(gen.touch_scale[final] * rng.lognormvariate(0, 0.8) + 0.5))
    n = len(ev)
    span = end - t0
    sales_span = (sales_to - sales_from) if sales_from is not None else 0
    p_sales = 0.0 if sales_from is None else (0.35 if final in ("customer", "evangelist") else 0.45)
    active = gen.active
    day0 = clock.start
    page_t = gen.t_page
    psum = gen.page_summary
    pdet = gen.page_details
    while n < target:
        if rnd() < p_sales:
            t = sales_from + int(sales_span * rnd())
            t = t - (t - day0) % DAY + 8 * HOUR + int(rnd() * 9 * HOUR)
            if t < sales_from or t >= end:
                t = sales_from + 60
            r = rnd()
            if r < 0.35:
                call = gen.t_call[int(rnd() * len(gen.t_call))]
                minutes = call[2] + int(rnd() * (call[3] - call[2] + 1))
                ev.append(
                    (
                        t,
                        None,
                        "call_logged",
                        "sales",
                        owner,
                        None,
                        "",
                        call[0].format(first=p.first),
                        f'{{"outcome": "{call[1]}", "minutes": {minutes}}}',
                    )
                )
            elif r < 0.8:
                subject = W.SALES_EMAILS[int(rnd() * len(W.SALES_EMAILS))]
                ev.append((t, None, "email_logged", "sales", owner, None, "", f"Sales email: {subject}", "{}"))
            else:
                title, minutes = W.MEETINGS[int(rnd() * len(W.MEETINGS))]
                ev.append(
                    (
                        t,
                        None,
                        "meeting_logged",
                        "sales",
                        owner,
                        None,
                        "",
                        title.format(first=p.first),
                        f'{{"minutes": {minutes}}}',
                    )
                )
            n += 1
            continue
        t = t0 + 60 + int(span * rnd())
        d_ = (t - day0) // DAY
        if d_ > WINDOW_DAYS:
            d_ = WINDOW_DAYS
        r = rnd()
        if r < 0.42 and pool:
            # The first campaign email is the welcome series; then any campaign they had not had yet.
            c = pool.pop() if not mailed else pool.pop(int(rnd() * len(pool)))
            if c.oneshot:
                sent = c.starts_at + int(rnd() * 1800)
                if c.ab_test and rnd() >= 0.2:
                    sent += 4 * HOUR  # the remainder, after the test window, gets the winning subject
            elif c is gen.welcome:
                sent = created + HOUR + int(rnd() * 2 * DAY)
            else:
                sent = mql_at + DAY + int(rnd() * 2 * DAY)
            if sent < end:
                added = _email(gen, c, sent)
                mailed[c.id] = (sent, added)
                ev.extend(added)
                n += len(added)
                continue
            r = 0.5  # too late for that one: a web visit instead
        if r < 0.72:
            r2 = rnd()
            if r2 < 0.5:
                c = gen.seo
            elif r2 < 0.75:
                c = None
            elif r2 < 0.9:
                todays = active["social"][d_]
                c = todays[0] if todays else gen.seo
            else:
                c = gen.partners
            cid = c.id if c else None
            csrc = txt[cid]["source"] if c else "direct"
            k = 1 + (rnd() < 0.5) + (rnd() < 0.25)
            for j in range(k):
                page = page_t[int(rnd() * len(page_t))]
                ev.append((t + 45 * j, None, "page_viewed", "marketing", None, cid, csrc, psum[page], pdet[page]))
            n += k
            continue
        if r < 0.84:
            todays = active["content"][d_]
            if todays:
                c = todays[int(rnd() * len(todays))]
                tx = txt[c.id]
                if rnd() < 0.2:
                    ev.append(
                        (
                            t - 20,
                            None,
                            "form_submitted",
                            "marketing",
                            None,
                            c.id,
                            tx["source"],
                            tx["download"],
                            tx["download_details"],
                        )
                    )
                    n += 1
                ev.append((t, None, "content_viewed", "marketing", None, c.id, tx["source"], tx["content"], "{}"))
                n += 1
                continue
        if r < 0.93:
            todays = active["paid"][d_]
            if todays:
                c = todays[int(rnd() * len(todays))]
                tx = txt[c.id]
                ev.append((t, None, "ad_clicked", "marketing", None, c.id, tx["source"], tx["ad"], "{}"))
                ev.append(
                    (
                        t + 3,
                        None,
                        "page_viewed",
                        "marketing",
                        None,
                        c.id,
                        tx["source"],
                        psum.get(c.landing, f"Viewed {c.landing}"),
                        pdet.get(c.landing) or tx["click_details"],
                    )
                )
                n += 2
                continue
        if r < 0.98:
            c = gen.upcoming["webinar"][d_]
            if c is not None and t < c.starts_at < t + 25 * DAY:
                tx = txt[c.id]
                ev.append(
                    (
                        t,
                        None,
                        "form_submitted",
                        "marketing",
                        None,
                        c.id,
                        "webinar",
                        tx["register"],
                        '{"form": "Webinar registration"}',
                    )
                )
                n += 1
                if c.starts_at < end and rnd() < 0.55:
                    ev.append(
                        (
                            c.starts_at + int(rnd() * 300),
                            None,
                            "webinar_attended",
                            "marketing",
                            None,
                            c.id,
                            "webinar",
                            tx["attended"],
                            f'{{"minutes": {15 + int(rnd() * 45)}}}',
                        )
                    )
                    n += 1
                continue
        c = gen.upcoming["event"][d_]
        if c is not None and t < c.starts_at < min(end - 8 * HOUR, t + 45 * DAY):
            ev.append(
                (
                    c.starts_at + int(rnd() * 8 * HOUR),
                    None,
                    "event_attended",
                    "marketing",
                    None,
                    c.id,
                    "event",
                    txt[c.id]["event"],
                    "{}",
                )
            )
        else:
            page = page_t[int(rnd() * len(page_t))]
            ev.append((t, None, "page_viewed", "marketing", None, None, "direct", psum[page], pdet[page]))
        n += 1

    if mailed and (leaves or bounces or gen.complaints in mailed):
        consent = _leave(gen, ev, mailed, leaves, bounces) or consent
    ev.sort(key=itemgetter(0))
    # Attribution: the newest marketing touch is the last-touch source.
    last_camp = first_camp
    last_at = t0
    for e in reversed(ev):
        if e[3] == "marketing" and e[2] not in _NOT_ATTRIBUTED:
            last_at = e[0]
            last_camp = gen.by_id.get(e[5]) if e[5] else None
            break
    n_marketing = sum(1 for e in ev if e[3] == "marketing")
    engagement = 100 if p.heavy else min(99, int(12 * math.log2(1 + n_marketing)))
    fit = p.fit
    if company is not None:
        fit = min(100, fit // 2 + (10 if company["employees"] > 50 else 0) + 40)
    ts = clock.ts
    cid = p.id
    coid = company["id"] if company else None
    rows["contact"].append(
        (
            cid,
            owner,
            "{}",
            ts(created),
            ts(changed_at),
            len(path),
            p.email,
            p.first,
            p.last,
            *contact_search_keys(p.first, p.last, p.email),
            p.title,
            p.phone,
            coid,
            final,
            ts(changed_at),
            gen.t_status[final][int(rnd() * len(gen.t_status[final]))],
            channel,
            first_camp.utm_source if first_camp else "",
            first_camp.utm_medium if first_camp else "",
            first_camp.utm_campaign if first_camp else "",
            ts(t0),
            last_camp.channel if last_camp else ("direct" if last_at != t0 else channel),
            last_camp.utm_source if last_camp else "",
            last_camp.utm_medium if last_camp else "",
            last_camp.utm_campaign if last_camp else "",
            ts(last_at),
            consent[0],
            consent[1],
            consent[2],
            consent[3],
            fit,
            engagement,
        )
    )
    out = rows["touch"].append
    take = gen.ids.next["touch"]
    days, tod, base = clock.days, clock.tod, clock.base
    for e in ev:
        s = e[0] - base
        out((take, days[s // DAY] + tod[s % DAY], cid, coid, e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8]))
        take += 1
    gen.ids.next["touch"] = take


_NOT_ATTRIBUTED = {"unsubscribed", "email_complained", "email_bounced"}


def _email(gen, c: CampaignSpec, sent: int) -> list:
    """One campaign email to one contact: the send, maybe an open, maybe clicks (each followed by the page)."""
    rng = gen.rng
    rnd = rng.random
    end = gen.clock.end
    tx = gen.txt[c.id]
    esrc = tx["source"]
    out = [(sent, None, "email_sent", "marketing", None, c.id, esrc, tx["sent"], "{}")]
    if rnd() < 0.38:
        # Only the first human open is a touch (later opens are counted on the send, email.tracking).
        opened = sent + int(rng.expovariate(1 / (3 * HOUR)))
        if opened < end:
            out.append((opened, None, "email_opened", "marketing", None, c.id, esrc, tx["opened"], "{}"))
            if rnd() < 0.3:
                links = tx["links"]
                clicked = opened + 20 + int(rnd() * 400)
                for k in range(1 + (rnd() < 0.2)):  # a few go on to a second link
                    if clicked >= end - 10:
                        break
                    link = links[0] if k == 0 and rnd() < 0.6 else links[int(rnd() * len(links))]
                    out.append((clicked, None, "email_clicked", "marketing", None, c.id, esrc, link[0], link[1]))
                    out.append((clicked + 4, None, "page_viewed", "marketing", None, c.id, esrc, link[2], link[3]))
                    clicked += 60 + int(rnd() * 900)
    return out


def _leave(gen, ev: list, mailed: dict, leaves: bool, bounces: bool) -> tuple | None:
    """Play out an unsubscribe, a complaint or a hard bounce against the emails the contact received, then
    drop every later send: the address is suppressed from then on (as mail.suppression makes it).

    Returns the contact's new consent (None when it does not change)."""
    rng = gen.rng
    rnd = rng.random
    end = gen.clock.end
    sends = sorted((sent, cid) for cid, (sent, _) in mailed.items())
    consent = None
    if bounces:
        # A mistyped or abandoned address: the first marketing email hard-bounces.
        sent, cid = sends[0]
        first = mailed[cid][1]
        ev_drop = {id(e) for e in first[1:]}  # no open, no click
        tx = gen.txt[cid]
        at = min(sent + 20 + int(rnd() * 600), end - 1)
        bounce = (at, None, "email_bounced", "marketing", None, cid, tx["source"], tx["bounced"], _BOUNCE_DETAILS)
        ev.append(bounce)
        mailed[cid] = (sent, [first[0], bounce])
    elif leaves:
        # They leave from one of the emails they got (the later ones more likely), after reading it or not.
        sent, cid = sends[min(len(sends) - 1, int(len(sends) * rnd() ** 0.5))]
        complaint = rnd() < (0.15 if cid == gen.complaints else 0.04)
        ev_drop, at, consent = _quit(gen, ev, mailed, cid, sent, complaint)
    elif rnd() < 0.003:
        # The campaign that drew complaints above the 0.3 % line (the report's auto-pause story).
        cid = gen.complaints
        ev_drop, at, consent = _quit(gen, ev, mailed, cid, mailed[cid][0], True)
    else:
        return None
    for other, (sent, touches) in list(mailed.items()):
        if sent > at:
            ev_drop.update(id(e) for e in touches)
            del mailed[other]
    if ev_drop:
        ev[:] = [e for e in ev if id(e) not in ev_drop]
    return consent


_BOUNCE_DETAILS = _dumps({"kind": "hard", "diagnostic": "550 5.1.1 The email account does not exist"})


def _quit(gen, ev: list, mailed: dict, cid: int, sent: int, complaint: bool) -> tuple[set, int, tuple]:
    rng = gen.rng
    end = gen.clock.end
    touches = mailed[cid][1]
    tx = gen.txt[cid]
    opened = next((e[0] for e in touches if e[2] == "email_opened"), None)
    at = (opened or sent) + 30 + int(rng.expovariate(1 / (2 * HOUR)) if opened is None else rng.random() * 600)
    at = min(at, end - 1)
    name = gen.by_id[cid].name
    if complaint:
        touch = (at, None, "email_complained", "marketing", None, cid, tx["source"], tx["complained"], "{}")
        consent = ("withdrawn", gen.clock.ts(at), "consent", f"Spam complaint about “{name}”"[:200])
    else:
        touch = (at, None, "unsubscribed", "marketing", None, cid, "email", tx["unsubscribed"], _UNSUB_DETAILS)
        consent = ("withdrawn", gen.clock.ts(at), "consent", f"Unsubscribed from campaign {name}"[:200])
    ev.append(touch)
    mailed[cid] = (sent, [*touches, touch])
    return set(), at, consent


_UNSUB_DETAILS = _dumps({"method": "one-click"})


def _active(gen, channel: str, t: int) -> CampaignSpec | None:
    todays = gen.active[channel][gen.clock.day(t)]
    return todays[int(gen.rng.random() * len(todays))] if todays else None


def _tasks_and_notes(gen, rows, ev, p, company, d, final, sales_from, sales_to) -> None:
    rnd = gen.rng.random
    clock = gen.clock
    owner = p.owner
    coid = company["id"] if company else None
    cname = company["name"] if company else p.last
    deal_id = d.id if d is not None and d.outcome == "open" else None
    open_task = (final in ("mql", "sql") and rnd() < 0.25) or (deal_id is not None and p is d.primary and rnd() < 0.6)
    if open_task:
        kind, title = W.TASKS[int(rnd() * len(W.TASKS))]
        title = title.format(first=p.first, company=cname)[:200]
        due = clock.end + int((-10 + rnd() * 24) * DAY) // HOUR * HOUR + 9 * HOUR
        made = max(sales_from, min(due - int((2 + rnd() * 5) * DAY), clock.end - HOUR))
        tid = gen.ids.take("task")
        rows["task"].append(
            (tid, kind, title, "", clock.ts(due), owner, owner, p.id, coid, deal_id, clock.ts(made), None)
        )
        ev.append(
            (
                made,
                deal_id,
                "task_created",
                "sales",
                owner,
                None,
                "",
                summaries.task_created(title),
                f'{{"task_id": {tid}, "kind": "{kind}"}}',
            )
        )
    if rnd() < 0.15:
        kind, title = W.TASKS[int(rnd() * len(W.TASKS))]
        title = title.format(first=p.first, company=cname)[:200]
        made = sales_from + int((sales_to - sales_from) * rnd() * 0.8)
        done = min(made + int((0.2 + rnd() * 3) * DAY), clock.end - 60)
        tid = gen.ids.take("task")
        rows["task"].append(
            (
                tid,
                kind,
                title,
                "",
                clock.ts(made + 2 * DAY),
                owner,
                owner,
                p.id,
                coid,
                None,
                clock.ts(made),
                clock.ts(done),
            )
        )
        ev.append(
            (
                made,
                None,
                "task_created",
                "sales",
                owner,
                None,
                "",
                summaries.task_created(title),
                f'{{"task_id": {tid}, "kind": "{kind}"}}',
            )
        )
        ev.append(
            (
                done,
                None,
                "task_completed",
                "sales",
                owner,
                None,
                "",
                summaries.task_completed(title),
                f'{{"task_id": {tid}}}',
            )
        )
    if RANK.get(final, 0) >= RANK["sql"] and rnd() < 0.15:
        body = gen.note_bodies[int(rnd() * len(gen.note_bodies))].format(first=html.escape(p.first))
        at = sales_from + int((sales_to - sales_from) * rnd())
        nid = gen.ids.take("note")
        rows["note"].append((nid, body, owner, p.id, coid, None, clock.ts(at)))
        excerpt = strip_tags(body)[:200]  # as crm.services.add_note writes it
        ev.append(
            (at, None, "note_added", "sales", owner, None, "", summaries.note_added(excerpt), f'{{"note_id": {nid}}}')
        )
