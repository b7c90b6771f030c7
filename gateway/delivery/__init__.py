"""Delivery: claim, render, send, record; the targets' breakers, retries, pins and pauses."""
