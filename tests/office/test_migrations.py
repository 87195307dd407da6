"""The office schema is Alembic's: a fresh database upgrades to head, the migrated database is
exactly what office/schema.py describes, and a database made before Alembic is adopted as it is."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, create_engine, insert, inspect, select, text

import office.console.schema  # noqa: F401  (its tables hang on office.schema.metadata)
from domain.clock import SystemClock
from office import schema
from office.console.auth import add_staff, check_password
from office.db import MIGRATIONS_DIR, alembic_config, current_revision, head_revision, open_office
from office.records import add_gate

OFFICE_TABLES = {t.name for t in schema.metadata.sorted_tables}


def diff(engine: Engine, metadata: MetaData = schema.metadata) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def legacy_database(url: str, versions: tuple[int, ...]) -> None:
    """A database as the code before Alembic left it: its tables, a schema_version table, no alembic_version.

    The tables come from the frozen revisions (0001 = its version 1, 0002 = its version 2), so
    this stays the old layout however office/schema.py changes later."""
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), f"{max(versions):04d}")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, "
                          "applied_at VARCHAR(40) NOT NULL)"))
        for v in versions:
            conn.execute(text("INSERT INTO schema_version VALUES (:v, :at)"),
                         {"v": v, "at": datetime(2026, 6, 1, tzinfo=UTC).isoformat()})
        conn.execute(insert(schema.estates).values(estate_id="default", name="翠湖苑", change_seq=7, epoch="e" * 16))
    engine.dispose()


def test_a_fresh_database_upgrades_to_head_with_every_table(db_url: str) -> None:
    engine = open_office(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert OFFICE_TABLES <= tables and "alembic_version" in tables and "schema_version" not in tables
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
        assert diff(engine) == []
    finally:
        engine.dispose()
    engine = open_office(db_url)                      # opening again changes nothing
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert conn.execute(select(schema.estates.c.estate_id)).scalars().all() == ["default"]
    engine.dispose()


def test_a_schema_change_without_a_migration_is_caught(db_url: str) -> None:
    engine = open_office(db_url)
    try:
        changed = MetaData()
        for table in schema.metadata.sorted_tables:
            table.to_metadata(changed)
        changed.tables["gates"].append_column(Column("firmware", String(32)))
        found = diff(engine, changed)
        assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "gates", "firmware")]
        dropped = MetaData()
        for table in schema.metadata.sorted_tables:
            if table.name != "held_events":
                table.to_metadata(dropped)
        assert [d[0] for d in diff(engine, dropped)] == ["remove_table"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("versions", [(1, 2), (1,)], ids=["with-console", "before-console"])
def test_a_database_made_before_alembic_is_adopted_with_its_data(db_url: str, versions: tuple[int, ...]) -> None:
    legacy_database(db_url, versions)
    engine = open_office(db_url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            row = conn.execute(select(schema.estates)).mappings().one()
        assert (row["name"], row["change_seq"], row["epoch"]) == ("翠湖苑", 7, "e" * 16)   # not re-created
        assert "schema_version" not in inspect(engine).get_table_names()
        assert diff(engine) == []
        with engine.begin() as conn:                  # and it works: a gate and a clerk can be added
            assert add_gate(conn, "default", "north", clock=SystemClock()).startswith("default/north.")
            add_staff(conn, "default", "wangli", "王丽", "correct horse 1")
        with engine.connect() as conn:
            assert check_password(conn, "default", "wangli", "correct horse 1") is not None
    finally:
        engine.dispose()


def test_the_migrations_ship_inside_the_package_and_need_no_alembic_ini() -> None:
    assert MIGRATIONS_DIR.parent.name == "office" and (MIGRATIONS_DIR / "env.py").is_file()
    assert not (MIGRATIONS_DIR / "alembic.ini").exists()
    revisions = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py") if p.name[0].isdigit())
    assert revisions[0].startswith("0001") and head_revision() == revisions[-1][:4]
    # revision 1 is frozen: it spells its tables out instead of importing today's schema
    first = (MIGRATIONS_DIR / "versions" / revisions[0]).read_text()
    assert not re.search(r"^\s*(from|import) office", first, re.M) and "op.create_table(" in first


def test_every_table_is_keyed_as_the_schema_says(db_url: str) -> None:
    """compare_metadata does not look at primary keys: a gate named the same in two estates
    needs gates, events and held_events keyed with the estate (revision 0007)."""
    engine = open_office(db_url)
    try:
        found = inspect(engine)
        for table in schema.metadata.sorted_tables:
            want = [c.name for c in table.primary_key.columns]
            assert sorted(found.get_pk_constraint(table.name)["constrained_columns"]) == sorted(want), table.name
    finally:
        engine.dispose()


def test_revision_0007_keeps_a_single_estate_office_working_and_scopes_it_by_estate(db_url: str) -> None:
    """An office at 0006 with a gate, its rows, a held row, a flag and a clerk: after the upgrade
    nothing is lost, the held row and the flag know their estate, the clerk works for theirs,
    and a second estate can have a gate of the same name."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0006")
        conn.execute(insert(schema.estates).values(estate_id="default", name="", change_seq=0, epoch="e" * 16))
        conn.execute(text("INSERT INTO gates (gate_id, estate, name, token_hash, created_at, head_seq, head_hash) "
                          "VALUES ('north', 'default', 'north', 'x', '2026-11-30T00:00:00+00:00', 1, 'h1')"))
        conn.execute(text("INSERT INTO held_events (gate_id, seq, body, received_at) VALUES ('north', 3, '{}', 't')"))
        conn.execute(text("INSERT INTO flags (estate, gate_id, kind, slip_id, message, detail, dedupe_key, raised_at) "
                          "VALUES ('default', 'north', 'gap', '', 'gap', '{}', 'gap:north:2', 't')"))
        conn.execute(text("INSERT INTO staff (username, estate, name, role, password_hash, active, created_at) "
                          "VALUES ('wangli', 'default', '王丽', 'front_desk', 'x', 1, 't')"))
    engine.dispose()
    engine = open_office(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT estate, gate_id, seq FROM held_events")).all() == [("default", "north", 3)]
            assert conn.execute(text("SELECT dedupe_key FROM flags")).scalar_one() == "default:gap:north:2"
            assert conn.execute(text("SELECT username, estate FROM staff_estates")).all() == [("wangli", "default")]
        with engine.begin() as conn:
            assert add_gate(conn, "west", "north", clock=SystemClock()).startswith("west/north.")
        with engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT estate, gate_id FROM gates")).all()) == [
                ("default", "north"), ("west", "north")]
    finally:
        engine.dispose()
