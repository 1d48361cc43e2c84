"""Test rogue `result_patch`: Hides its own network use by patching the worker's replies."""
