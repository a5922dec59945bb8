"""One multi-row INSERT for the hot bulk writers (touches, outbox events, step runs): `bulk_insert`.

Django's `bulk_create` prepares every value of every row through the field's full save path (pre_save,
get_db_prep_save, the compiler's per-value placeholders): about 85 % of its time when a workflow writes
500 touches, events and step runs per batch. Here each field gets one preparer, chosen once per call, and the
plain types (text, numbers, booleans, foreign keys) go to the driver as they are. SQLite gets multi-row
VALUES; PostgreSQL one array per column through UNNEST. Same contract as
`bulk_create` for the models it is used on: no signals, no `save()`, primary keys filled in from RETURNING
(both PostgreSQL and SQLite >= 3.35 return them in VALUES order, which is what Django relies on too).

It does not handle multi-table inheritance, database defaults (`db_default`) or generated fields; models that
need those keep `bulk_create`.
"""

from collections.abc import Callable, Sequence

from django.db import connection
from django.db.models import Model

# Values of these field types are what the driver takes as they are (the model's __init__ set the defaults).
_PLAIN = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "EmailField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallAutoField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)
# SQLite allows 32,766 bound parameters per statement; stay well below.
_MAX_PARAMS = 30_000


def _preparer(field) -> Callable[[Model], object]:
    attname = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    kind = field.get_internal_type()
    if kind in _PLAIN:
        return lambda obj: getattr(obj, attname)
    if kind == "DateTimeField":
        if connection.vendor == "postgresql":
            return lambda obj: getattr(obj, attname)  # psycopg sends an aware datetime as timestamptz
        adapt = connection.ops.adapt_datetimefield_value
        return lambda obj: adapt(getattr(obj, attname))
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def bulk_insert(objs: Sequence[Model], *, batch_size: int = 1000) -> Sequence[Model]:
    """INSERT unsaved instances of one model, batch_size rows per statement; sets their primary keys."""
    if not objs:
        return objs
    meta = type(objs[0])._meta
    pk = meta.pk
    with_pk = getattr(objs[0], pk.attname) is not None
    fields = [f for f in meta.concrete_fields if with_pk or f is not pk]
    preparers = [_preparer(f) for f in fields]
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = "" if with_pk else f" RETURNING {quote(pk.column)}"
    if connection.vendor == "postgresql":
        # One array per column through UNNEST (as Django's own bulk_create does there): a statement of a few
        # parameters, which PostgreSQL plans at once, where thousands of VALUES rows take it long to parse.
        arrays = ", ".join(f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
        head = head.removesuffix(" VALUES ") + f" SELECT * FROM UNNEST({arrays})"
        per_statement = batch_size
    else:
        per_statement = max(1, min(batch_size, _MAX_PARAMS // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            if connection.vendor == "postgresql":
                cursor.execute(head + returning, [[prepare(obj) for obj in chunk] for prepare in preparers])
            else:
                params = [prepare(obj) for obj in chunk for prepare in preparers]
                cursor.execute(head + ", ".join([row] * len(chunk)) + returning, params)
            if returning:
                for obj, (value,) in zip(chunk, cursor.fetchall(), strict=True):
                    setattr(obj, pk.attname, value)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs
