"""The `stemme` command line: argparse and output; the actions live elsewhere."""
