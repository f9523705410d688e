"""`python -m cli ...` runs the `classpulse` command."""

import sys

from cli.main import main

sys.exit(main())
