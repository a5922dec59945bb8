"""Who a note mentions: "@ada@example.com", "@Ada Lovelace", or "@Ada" when one active user has that first name.

Read from the note's text (tags stripped), matched against active users: a mention of someone who left
notifies nobody, and an address that is no user's is just text.
"""

import html
import re

from django.utils.html import strip_tags

from smarketing.accounts.models import User

EMAIL_MENTION = re.compile(r"(?<![\w.+-])@([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
NAME_MENTION = re.compile(r"(?<![\w@])@(\w[\w'-]*(?: \w[\w'-]*)?)")


def plain_text(body_html: str) -> str:
    return " ".join(html.unescape(strip_tags(body_html or "")).split())


def mentioned_users(body_html: str) -> list[User]:
    """The active users a note mentions, in the order of the user list (one query; none without an "@")."""
    text = plain_text(body_html)
    if "@" not in text:
        return []
    emails = {m.lower().rstrip(".") for m in EMAIL_MENTION.findall(text)}
    lowered = text.lower()
    words = {m.lower() for m in NAME_MENTION.findall(lowered)}
    first_words = {w.split(" ")[0] for w in words}
    if not emails and not words:
        return []
    users = list(User.objects.filter(is_active=True).only("id", "email", "full_name", "is_active", "role"))
    first_names: dict[str, list[User]] = {}
    for user in users:
        if user.full_name:
            first_names.setdefault(user.full_name.split()[0].lower(), []).append(user)
    found = []
    for user in users:
        name = " ".join(user.full_name.lower().split())
        by_name = bool(name) and re.search(r"(?<![\w@])@" + re.escape(name) + r"(?!\w)", lowered) is not None
        first = name.split(" ")[0] if name else ""
        by_first = bool(first) and first in first_words and len(first_names.get(first, [])) == 1
        if user.email in emails or by_name or by_first:
            found.append(user)
    return found
