"""The engine host: context, one interpreter of engine events, start, remind, expire."""
