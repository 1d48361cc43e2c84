"""Test rogue `timeout_shield`: Shields report generation from request cancellation."""
