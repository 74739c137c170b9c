"""`python -m bot` is the same as `stemme`."""

import sys

from bot.cli import main

sys.exit(main())
