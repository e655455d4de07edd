"""Helpers of the end-to-end tests: a running Tally, an HTTP client, event builders."""
