"""The worker: the only process that imports extension code.

Parent side: :mod:`dufflebag_harness.outside.worker_client`.
Worker side: ``python -I -m dufflebag_harness.inside.worker``.
"""
