"""CLI subcommands, grouped by what they act on."""
