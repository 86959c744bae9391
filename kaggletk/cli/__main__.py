import sys

from kaggletk.cli import main

sys.exit(main())
