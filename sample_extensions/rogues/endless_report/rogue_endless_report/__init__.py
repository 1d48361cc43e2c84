"""Test rogue `endless_report`: A report query that recurses forever, with the statement timeout
switched off.
"""
