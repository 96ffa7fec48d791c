"""The collector's store: SQLAlchemy Core tables, engine set-up and migrations.

SQLite is the default (one file, WAL); PostgreSQL works by URL. Queries use
nothing dialect-specific so the same code runs on both.
"""
