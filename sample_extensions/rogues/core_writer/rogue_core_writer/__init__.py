"""Test rogue `core_writer`: Promotes users to admin by updating the host's user table through an
engine found with gc.
"""
