"""Test rogue `statsd_metrics`: Request metrics pushed to a local StatsD agent."""
