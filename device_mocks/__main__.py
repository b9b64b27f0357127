import sys

from device_mocks.cli import main

sys.exit(main())
