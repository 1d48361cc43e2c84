"""Test rogue `core_reader`: Lists the platform's users by reading the host's user table through an
engine found with gc.
"""
