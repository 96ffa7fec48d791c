"""What ingest derives from a stored software list, kept beside it, so a digest-only repeat never reads the list.

A report sent with only its list's digest needs three things of the list:
its catalog applications (as ``Catalog.match`` finds them), its length, and
that it passed the schema of the report's version. Each process used to
work them out by reading, inflating and parsing the list the first time it
met the digest (10 ms of CPU against 3 for a repeat it knew), and forgot
them past 16,384 lists. ``list_facts`` (0013_list_facts) keeps them once per
list, keyed by the catalog's fingerprint (with the version of this
derivation) and the fingerprint of the schema the list was found valid
under: facts worked out under another catalog or schema are not found, so
the list is then taken whole once and its facts stored again.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.store.tables import list_facts, software_lists

# How facts are derived from a list and a catalog (names cut to 512 characters, one match per application):
# changing that changes every key, as a new catalog does.
_DERIVATION = 1
_READ = (sa.select(list_facts.c.schema_fingerprint, list_facts.c.apps, list_facts.c.software_count)
         .where(list_facts.c.sha256 == sa.bindparam("sha"), list_facts.c.catalog_fingerprint == sa.bindparam("cat")))
_HELD = sa.select(list_facts.c.sha256).where(
    list_facts.c.sha256 == sa.bindparam("sha"), list_facts.c.catalog_fingerprint == sa.bindparam("cat"),
    list_facts.c.schema_fingerprint == sa.bindparam("schema"))
# Built once per dialect: SQLAlchemy then reuses the compiled statement.
_INSERT_OR_IGNORE = {name: insert(list_facts).on_conflict_do_nothing()
                     for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))}

App = tuple[str, str, Optional[str]]


@dataclass(frozen=True)
class ListFacts:
    """A list's catalog applications (app id, package name, version) and length, and the schema versions it was
    found valid under."""

    apps: tuple[App, ...]
    count: int
    versions: frozenset[int]


def catalog_key(fingerprint: str) -> str:
    """The ``catalog_fingerprint`` column for a catalog with this fingerprint."""
    return hashlib.sha256(f"{_DERIVATION}:{fingerprint}".encode("ascii")).hexdigest()


def read(conn: Connection, sha256: str, catalog: str, schemas: Mapping[str, int]) -> Optional[ListFacts]:
    """The facts of list ``sha256`` under ``catalog`` (``catalog_key``) and the schemas in force (fingerprint ->
    version), or None when none were kept under them."""
    rows = conn.execute(_READ, {"sha": sha256, "cat": catalog}).all()
    versions = frozenset(schemas[r.schema_fingerprint] for r in rows if r.schema_fingerprint in schemas)
    if not versions:
        return None
    # Every row under one catalog has the same applications and length: they depend on the list and the catalog.
    first = rows[0]
    return ListFacts(tuple((a[0], a[1], a[2]) for a in first.apps), first.software_count, versions)


def keep(conn: Connection, sha256: str, catalog: str, schema: str, apps: tuple[App, ...], count: int) -> None:
    """Store the facts of list ``sha256`` (held in ``software_lists``) unless already stored under these keys."""
    row: dict[str, Any] = {"sha256": sha256, "catalog_fingerprint": catalog, "schema_fingerprint": schema,
                           "apps": [list(a) for a in apps], "software_count": count}
    insert = _INSERT_OR_IGNORE.get(conn.dialect.name)
    if insert is not None:
        conn.execute(insert, row)
    elif conn.execute(_HELD, {"sha": sha256, "cat": catalog, "schema": schema}).first() is None:
        conn.execute(list_facts.insert(), row)


def forget_unlisted(conn: Connection, shas: list[str]) -> None:
    """Remove the facts of those of these lists that the store no longer holds (a prune removed them)."""
    held = sa.select(software_lists.c.sha256).where(software_lists.c.sha256.in_(shas))
    conn.execute(list_facts.delete().where(list_facts.c.sha256.in_(shas), list_facts.c.sha256.not_in(held)))

