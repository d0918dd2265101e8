"""Rows read by SQL of our own, made into model instances the way the ORM makes them (the
database's and the fields' converters, then `Model.from_db`).

For the few look-ups asked on every page (the mailbox with the person's role, the message's
row): the ORM took longer to build their SQL than the database took to answer it, about half
a millisecond each, each time (issue 16). The SQL names its columns from the models' own
metadata, so a field added to a model is read here too, converted as the ORM converts it
(tests/mailboxes/test_direct.py holds both equal on PostgreSQL and SQLite).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import signals

M = TypeVar("M", bound=models.Model)
Converter = Any  # (value, expression, connection) -> value, as Django's compiler calls them


@dataclass(frozen=True, eq=False)
class Shape(Generic[M]):
    """Some of a model's columns (all by default), in the model's order. One instance per
    model and names (`shape`), compared and hashed by identity: hashing its fields, once per
    row built, cost more than building the row."""

    model: type[M]
    fields: tuple[models.Field[Any, Any], ...]

    def __len__(self) -> int:
        return len(self.fields)

    def columns(self, alias: str, connection: BaseDatabaseWrapper) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)

    def build(self, values: Sequence[Any], connection: BaseDatabaseWrapper) -> M:
        """The instance of these columns' values (as the cursor gave them)."""
        converted = list(values)
        for index, converters, column in _converters(self, connection.alias):
            value = converted[index]
            for converter in converters:
                value = converter(value, column, connection)
            converted[index] = value
        names = _attnames(self)
        if not _plain(self.model):
            return self.model.from_db(connection.alias, names, converted)
        # What from_db and Model.__init__ leave, without their work per field (a tenth of a
        # list page's time went into building its 50 rows): the values as attributes, the
        # fields not read left out (deferred: loaded when asked, as `only()` leaves them).
        instance = self.model.__new__(self.model)
        instance.__dict__.update(zip(names, converted, strict=True))
        instance._state = models.base.ModelState()
        instance._state.adding, instance._state.db = False, connection.alias
        return instance


def joined(
    shape: Shape[M],
    field: str,
    related: Shape[Any],
    values: Sequence[Any],
    connection: BaseDatabaseWrapper,
) -> tuple[M, Sequence[Any]]:
    """The instance of a row that reads `shape`'s columns then those of its `field`'s related
    model (a LEFT JOIN: no related row when its key is NULL), the related instance cached on
    it as select_related caches it; and the row's values after both."""
    instance = shape.build(values[: len(shape)], connection)
    of_related = values[len(shape) : len(shape) + len(related)]
    found = related.build(of_related, connection) if of_related[0] is not None else None
    shape.model._meta.get_field(field).set_cached_value(instance, found)  # type: ignore[union-attr]
    return instance, values[len(shape) + len(related) :]


def shape(model: type[M], names: tuple[str, ...] | None = None) -> Shape[M]:
    """The shape of `model`'s columns (`names`: only these fields, the others deferred)."""
    return cast("Shape[M]", _shape(model, names))


@functools.cache
def _shape(model: type[models.Model], names: tuple[str, ...] | None) -> Shape[Any]:
    fields = tuple(
        field
        for field in model._meta.concrete_fields
        if names is None or field.name in names or field.attname in names or field.primary_key
    )
    return Shape(model, fields)


@functools.cache
def _attnames(shape: Shape[Any]) -> tuple[str, ...]:
    return tuple(field.attname for field in shape.fields)


def _plain(model: type[models.Model]) -> bool:
    """No one listens to the model's instances being made (pre_init, post_init: an image
    field, a library's), nor does the model make them its own way: built as from_db would."""
    return (
        model.from_db.__func__ is models.Model.from_db.__func__  # type: ignore[attr-defined]
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
    )


@functools.cache
def _converters(
    shape: Shape[Any], alias: str
) -> tuple[tuple[int, tuple[Converter, ...], Any], ...]:
    connection = connections[alias]
    found = []
    for index, field in enumerate(shape.fields):
        column = field.get_col(shape.model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            found.append((index, tuple(converters), column))
    return tuple(found)


def by_pk(model: type[M], pk: int | str) -> M | None:
    """The instance of `model` whose primary key is `pk`, every field read (objects.get)."""
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(_by_pk_sql(model, connection.alias), (pk,))
        found = cursor.fetchone()
    return None if found is None else shape(model).build(found, connection)


def _by_pk_sql(model: type[models.Model], alias: str) -> str:
    key = connections[alias].ops.quote_name(model._meta.pk.column)
    return f"{_rows_sql(model, alias)} WHERE t.{key} = %s"


def insert(instance: models.Model) -> None:
    """Save a new instance whose primary key the database makes, as `save()` would (the
    fields' own pre_save, such as auto_now_add, and preparation), in one INSERT that reads
    the key back. For models no signal listens to (tests/mailboxes/test_direct.py)."""
    model = type(instance)
    connection = connections[router.db_for_write(model)]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    sql, returns = _insert_sql(model, connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returns:
            key = cursor.fetchone()[0]
        else:
            key = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    instance.pk = key
    instance._state.adding, instance._state.db = False, connection.alias


@functools.cache
def _insert_sql(model: type[models.Model], alias: str) -> tuple[str, bool]:
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    returns = bool(connection.features.can_return_columns_from_insert)
    if returns:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, returns


def rows(
    model: type[M],
    where: str,
    params: Sequence[Any],
    order: str = "",
    *,
    names: tuple[str, ...] | None = None,
    limit: int | None = None,
) -> list[M]:
    """The instances of `model` whose columns (table aliased t) meet `where`, in `order`:
    both SQL of the caller's, values as parameters; `names`: only these fields (the others
    deferred, as `only()` defers them); at most `limit` of them."""
    connection = connections[router.db_for_read(model)]
    sql = (
        _rows_sql(model, connection.alias, names)
        + f" WHERE {where}"
        + (f" ORDER BY {order}" if order else "")
        + (f" LIMIT {int(limit)}" if limit is not None else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    built = shape(model, names)
    return [built.build(values, connection) for values in found]


@functools.cache
def _rows_sql(model: type[models.Model], alias: str, names: tuple[str, ...] | None = None) -> str:
    connection = connections[alias]
    table = connection.ops.quote_name(model._meta.db_table)
    return f"SELECT {shape(model, names).columns('t', connection)} FROM {table} t"  # noqa: S608 - names from _meta
