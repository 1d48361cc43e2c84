"""Host tests drive a real host (in-memory SQLite) through httpx's ASGI transport."""
