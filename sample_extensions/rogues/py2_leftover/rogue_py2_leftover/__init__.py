"""Test rogue `py2_leftover`: Unit conversions, with a leftover Python 2 module."""
