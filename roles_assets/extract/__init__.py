"""Extraction: the Freshdesk API client and the pull that lands a sync day atomically."""
