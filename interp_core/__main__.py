import sys

from interp_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
