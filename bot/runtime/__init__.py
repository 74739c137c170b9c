"""The composition root: settings, the parts one process needs, the app and its jobs."""
