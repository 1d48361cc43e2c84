"""What runs outside the sandbox: the CLI, the runner, the loader, PostgreSQL servers and
provisioning, the worker client, the scaffold.

Nothing under this package imports extension code or anything of
:mod:`dufflebag_harness.inside`; it talks to the sandbox only through the worker
protocol (:mod:`dufflebag_harness.shared.protocol`). Together with
:mod:`dufflebag_harness.conformance` and :mod:`dufflebag_harness.reports` this is the
side that judges and signs.
"""
