"""One INSERT for any number of rows, on PostgreSQL and SQLite alike.

A comment on an issue with 500 watchers makes 500 threads and mail items in one statement
each. Django's bulk_create does that on PostgreSQL, but splits inserts into statements of
999 parameters on SQLite; here the rows' varying columns travel as one parameter per
column (PostgreSQL: arrays, unnested) or as one JSON document (SQLite: json_each), and the
values every row shares as one parameter each, so the number of statements never depends
on the number of rows.
"""

import json

from django.db import connection


def insert_rows(
    model,
    *,
    rows: list[tuple],
    varying: tuple[str, ...],
    same: dict,
    conflict: tuple[str, ...] = (),
    update: tuple[str, ...] = (),
) -> None:
    """Insert one row per tuple of `rows` (values of the `varying` fields, in order: ints
    and text), each with the `same` values. With `conflict` (the fields of a unique
    constraint), a row that exists already gets the new values of the `update` fields, or
    is left alone when there are none."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = model._meta
    column = {name: meta.get_field(name).column for name in (*varying, *same, *conflict)}
    columns = [column[name] for name in (*same, *varying)]
    params = [
        meta.get_field(name).get_db_prep_save(value, connection) for name, value in same.items()
    ]
    selected = ["%s"] * len(same)
    if connection.vendor == "postgresql":
        types = [meta.get_field(name).db_type(connection) for name in varying]
        arrays = ", ".join(f"%s::{db_type}[]" for db_type in types)
        names = ", ".join(quote(column[name]) for name in varying)
        source = f"unnest({arrays}) AS r({names})"
        selected += [f"r.{quote(column[name])}" for name in varying]
        params += [[row[i] for row in rows] for i in range(len(varying))]
    else:
        source = "json_each(%s) AS r"
        selected += [f"json_extract(r.value, '$[{i}]')" for i in range(len(varying))]
        params.append(json.dumps([list(row) for row in rows]))
    # Names from the model, values as parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM {source}"
    )
    if conflict:
        if update:
            sets = ", ".join(
                f"{quote(meta.get_field(name).column)} = "
                f"excluded.{quote(meta.get_field(name).column)}"
                for name in update
            )
            action = f"DO UPDATE SET {sets}"
        else:
            action = "DO NOTHING"
        target = ", ".join(quote(column[name]) for name in conflict)
        # "WHERE true": without it SQLite reads ON CONFLICT as a join's ON.
        sql += f" WHERE true ON CONFLICT ({target}) {action}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
