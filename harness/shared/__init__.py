"""The few pieces both sides of the trust boundary import: the worker protocol's framing
and schema, the worker contract (every op and probe with its types), how a PostgreSQL
login is described and opened, database values as JSON, configuration defaults and
validation, and the dependency planner.

Nothing here imports either side, and nothing here runs extension code.
"""
