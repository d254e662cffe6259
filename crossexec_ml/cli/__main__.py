"""``python -m crossexec_ml.cli``: the ``crossexec`` command."""

import sys

from crossexec_ml.cli import main

sys.exit(main())
