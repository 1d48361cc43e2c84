"""Test rogue `lazy_schema`: Adds columns and indexes at start-up, statement by statement, outside
its migrations.
"""
