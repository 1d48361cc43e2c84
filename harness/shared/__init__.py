"""The few pieces both sides of the trust boundary import: the worker protocol's framing
and schema, and how a PostgreSQL login is described and opened.

Nothing here imports either side, and nothing here runs extension code.
"""
