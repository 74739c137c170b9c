"""Outbound stage: the dispatcher (claim, gate, send, record) and its pacing."""
