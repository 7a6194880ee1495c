"""``python -m texturecmp.batch MANIFEST -o OUT [...]`` (the ``texturecmp batch`` command)."""

import sys

from texturecmp.batch import main

if __name__ == "__main__":
    sys.exit(main())
