import sys

from lakehouse_sdk.cli import main

sys.exit(main())
