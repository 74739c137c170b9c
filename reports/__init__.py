"""Scoring rules, progression graphs, exports, the journal PDF and report e-mails (issue 8)."""
