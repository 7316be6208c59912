import sys

from ffnn.cli import main

sys.exit(main())
