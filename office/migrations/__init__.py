"""Alembic migrations of the office database; office/db.py runs them on open (no alembic.ini).

Each revision writes its tables out literally and never imports office/schema.py, so what a
revision does cannot change after it shipped. A change to office/schema.py needs a new
revision here; tests/office/test_migrations.py fails until the migrated database matches.
"""
