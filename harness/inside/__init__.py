"""What runs inside the sandbox: the worker, its probes, the reference host and the
database providers it connects with.

Everything under this package may end up in a process that has imported extension
code, so nothing here may hold a signing key or decide a verdict the extension could
rewrite. The certifying parent never imports it (import-linter enforces that).
"""
