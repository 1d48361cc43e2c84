"""The worker: the only process that imports extension code.

Parent side: :mod:`harness.worker.client`. Worker side: ``python -I -m harness.worker``.
"""
