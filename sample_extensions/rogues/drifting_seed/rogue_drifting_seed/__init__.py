"""Test rogue `drifting_seed`: A migration that embeds the time it was imported in its SQL."""
