"""Inbound stage: webhook bodies stored durably (group commit), then routed to a person."""
