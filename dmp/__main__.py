"""``python -m dmp``: the same command line as ``dmp``."""

import sys

from dmp.cli import main

sys.exit(main())
