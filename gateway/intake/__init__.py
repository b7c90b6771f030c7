"""Intake: a system's payload becomes stored messages (ingest) and AlphaAlpha is polled."""
