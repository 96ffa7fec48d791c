"""The store on a real SQLite file: migrations, time handling, tokens, the wards table."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from collector.store.engine import StoreError, make_engine, migrate
from collector.store.tables import reports, tokens, wards
from collector.store.tokens import create_token, verify_token
from collector.store.units import sync_units
from inventory.registry import Registry, Unit, load_registry


@pytest.fixture
def engine(db_url):
    e = make_engine(db_url)
    migrate(e)
    with e.begin() as conn:
        sync_units(conn, load_registry())
    yield e
    e.dispose()


def _migration_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "collector.store:alembic")
    return set(ScriptDirectory.from_config(cfg).get_heads())


def test_migrate_is_idempotent(engine):
    migrate(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        applied = {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
        assert applied == _migration_heads() and len(applied) >= 1
        assert conn.execute(sa.select(sa.func.count()).select_from(wards)).scalar() == 126


def test_times_come_back_aware_utc(engine):
    moment = datetime(2025, 11, 30, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    with engine.begin() as conn:
        conn.execute(reports.insert().values(report_id="r1", device_id="d", ward_code="00070", schema_version=1,
                                             source="agent", collected_at=moment, received_at=moment, body="{}"))
        got = conn.execute(sa.select(reports.c.collected_at)).scalar()
    assert got == moment and got.tzinfo is not None and got.utcoffset() == timedelta(0)
    with pytest.raises(sa.exc.StatementError):
        with engine.begin() as conn:
            conn.execute(reports.update().values(received_at=datetime(2025, 1, 1)))


def test_token_round_trip_and_refusals(engine):
    with engine.begin() as conn:
        token = create_token(conn, "00070", "pc group A")
    with engine.connect() as conn:
        identity = verify_token(conn, token)
        assert identity is not None and identity.ward_code == "00070" and identity.kind == "ward"
        prefix, token_id, secret = token.split("_", 2)
        wrong = f"{prefix}_{token_id}_" + ("A" if secret[0] != "A" else "B") + secret[1:]
        assert verify_token(conn, wrong) is None
        assert verify_token(conn, "") is None
        assert verify_token(conn, "hdc_zz_short") is None
        stored = conn.execute(sa.select(tokens)).one()
        assert secret not in stored.secret_hash and len(stored.salt) == 32
    with engine.begin() as conn:
        conn.execute(tokens.update().values(revoked_at=datetime.now(timezone.utc)))
    with engine.connect() as conn:
        assert verify_token(conn, token) is None


def test_two_tokens_never_share_a_salt(engine):
    with engine.begin() as conn:
        create_token(conn, "00070")
        create_token(conn, "00070")
        salts = conn.execute(sa.select(tokens.c.salt)).scalars().all()
    assert len(set(salts)) == 2


def test_sync_units_renames_but_never_deletes(engine):
    with engine.begin() as conn:
        sync_units(conn, Registry([Unit("00070", "Hoàn Kiếm Mới", "phuong")]))
        rows = dict(conn.execute(sa.select(wards.c.code, wards.c.name)).all())
    assert rows["00070"] == "Hoàn Kiếm Mới"
    assert len(rows) == 126


def test_bad_url_is_a_clear_error():
    with pytest.raises(StoreError, match="not a database URL"):
        make_engine("not a url")
    with pytest.raises(StoreError, match="driver not installed"):
        make_engine("nosuchdb://x/y")


def test_migrations_build_exactly_the_tables_the_code_uses(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from collector.store.tables import metadata

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
