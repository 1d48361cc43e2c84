"""Test rogue `sqlite_only`: Migrations written for SQLite (AUTOINCREMENT) that PostgreSQL
refuses.
"""
