"""Test rogue `route_escape`: Tries to register a route outside its prefix."""
