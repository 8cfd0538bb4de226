"""Database layer: engine and transactions, column types, tables, Alembic migrations.

Only ``chatgate.store`` and services given a session write SQL; every schema change is a
migration that runs on SQLite and PostgreSQL.
"""
