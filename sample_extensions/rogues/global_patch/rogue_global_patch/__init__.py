"""Test rogue `global_patch`: Stamps every response of the process by patching Starlette."""
