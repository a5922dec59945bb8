"""Keyset pagination and prefix search: every row exactly once, in order, for any data."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from smarketing.core.queries import SortOption, keyset_page, prefix_q
from smarketing.crm.models import Contact

SORTS = [
    SortOption("newest", ("-id",)),
    SortOption("name", ("last_key", "id")),
    SortOption("email", ("email", "id")),
    SortOption("stage", ("-lifecycle_changed_at", "-id")),
]
names = st.text(alphabet="abcAB é-'", min_size=0, max_size=6)


class KeysetTests(TestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(last_names=st.lists(names, min_size=0, max_size=25), size=st.integers(1, 7))
    def test_pages_cover_every_row_once_in_order(self, last_names, size):
        Contact.objects.all().delete()
        Contact.objects.bulk_create(
            Contact(email=f"p{i}@x.com", last_name=n, last_key=n.lower()) for i, n in enumerate(last_names)
        )
        for sort in SORTS:
            expected = list(Contact.objects.order_by(*sort.fields).values_list("pk", flat=True))
            seen, cursor = [], None
            for _ in range(len(expected) + 2):
                page = keyset_page(Contact.objects.all(), sort, cursor, size)
                seen.extend(c.pk for c in page.rows)
                cursor = page.next_cursor
                if cursor is None:
                    break
            self.assertEqual(seen, expected, sort.label)

    def test_garbage_cursor_is_ignored_not_an_error(self):
        Contact.objects.create(email="a@x.com")
        for cursor in ("!!!", "e30", "W10", "WyJhIl0", "x" * 500):
            page = keyset_page(Contact.objects.all(), SORTS[0], cursor, 10)
            self.assertEqual(len(page.rows), 1)

    @settings(max_examples=30, deadline=None)
    @given(prefix=st.text(alphabet="abcé%_\\", min_size=1, max_size=3))
    def test_prefix_q_matches_python_startswith(self, prefix):
        Contact.objects.all().delete()
        keys = ["abc", "abé", "a%c", "a_c", "b\\c", "ab", "é", "c"]
        Contact.objects.bulk_create(Contact(email=f"k{i}@x.com", name_key=k) for i, k in enumerate(keys))
        got = set(Contact.objects.filter(prefix_q("name_key", prefix)).values_list("name_key", flat=True))
        self.assertEqual(got, {k for k in keys if k.startswith(prefix)})
