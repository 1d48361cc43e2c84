"""Test rogue `debug_dump`: a status page whose hidden support view dumps credentials."""
