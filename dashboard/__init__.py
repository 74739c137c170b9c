"""The caseworker dashboard (server-rendered HTML) and its JSON API under /api/v1/."""
