"""Test rogue `etag_double`: a middleware that runs the app twice per request."""
