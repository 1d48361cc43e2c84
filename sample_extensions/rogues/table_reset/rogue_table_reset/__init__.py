"""Test rogue `table_reset`: An admin reset that empties every table of its schema, ext_migrations
included.
"""
