"""Tests of the channel adapters against the fake provider servers."""
