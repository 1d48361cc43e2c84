"""Test rogue `phone_home`: usage telemetry that carries the deployment's credentials."""
