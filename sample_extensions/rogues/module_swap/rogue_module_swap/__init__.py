"""Test rogue `module_swap`: counts JSON encodes per request for a performance dashboard."""
