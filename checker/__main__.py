"""``python -m checker grade SUBMISSIONS... --out DIR`` and the other instructor commands.

See checker/grading/cli.py and docs/grading.md.
"""
import sys

from checker.grading.cli import main

if __name__ == "__main__":
    sys.exit(main())
