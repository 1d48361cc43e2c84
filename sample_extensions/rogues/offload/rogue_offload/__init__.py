"""Test rogue `offload`: Accepts webhook events at once and processes them in the background."""
