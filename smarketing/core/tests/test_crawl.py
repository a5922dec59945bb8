"""Every page a user can reach from the home page works, for every role, on seeded demo data."""

import re
from urllib.parse import urldefrag, urlsplit

from django.core.management import call_command
from django.test import TestCase

from smarketing.accounts.models import User

LINK = re.compile(rb'href="(/[^"]*)"')
SKIP = ("/static/", "/accounts/logout", "/api/")
# The admin reaches every page kind; the other roles re-check the common pages under their permissions.
MAX_PAGES = {"admin": 90, "manager": 30, "member": 30, "readonly": 30}


class CrawlTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        call_command("seed", contacts=80, seed=7, demo_users=True, verbosity=0)

    def crawl(self, user, limit):
        self.client.force_login(user)
        seen, queue, failures = set(), ["/"], []
        while queue and len(seen) < limit:
            url = urldefrag(queue.pop(0))[0].replace("&amp;", "&")
            if url in seen or url.startswith(SKIP):
                continue
            seen.add(url)
            response = self.client.get(url)
            if response.status_code >= 500 or response.status_code == 404:
                failures.append((url, response.status_code))
                continue
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for link in LINK.findall(response.content):
                link = link.decode()
                # Follow each distinct path once (query variants of a list page are sampled, not exhausted).
                path = urlsplit(link).path
                if not any(urlsplit(s).path == path for s in seen | set(queue)) or len(seen) < 40:
                    queue.append(link)
        return seen, failures

    def test_every_reachable_page_works_for_each_role(self):
        users = list(User.objects.filter(is_active=True).order_by("role"))
        roles = {u.role for u in users}
        self.assertTrue({"admin", "manager", "member", "readonly"} <= roles, roles)
        for role in sorted(roles):
            user = next(u for u in users if u.role == role)
            seen, failures = self.crawl(user, MAX_PAGES[role])
            self.assertGreater(len(seen), 15, f"{role} reached only {sorted(seen)}")
            self.assertEqual(failures, [], f"{role}: broken pages")
