"""Test rogue `authorizer_off`: Switches SQLite's authorizer off on its own connection to join
with the core users.
"""
