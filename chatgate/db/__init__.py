"""Database layer: engine and transactions, column types, tables, Alembic migrations.

Only ``chatgate.store`` (and this package) writes SQL (``tests/contract/test_layers.py``);
every schema change is a migration that runs on SQLite and PostgreSQL.
"""
