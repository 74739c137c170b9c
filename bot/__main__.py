"""`python -m bot` is the same as `stemme`."""

import sys

from bot.cli.main import main

# Guarded: the writer process (spawned) imports this module again as __mp_main__.
if __name__ == "__main__":
    sys.exit(main())
