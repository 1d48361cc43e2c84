"""Test rogue `sync_sleep`: a blocking backoff inside an async handler."""
