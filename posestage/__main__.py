import sys

from posestage.cli import main

sys.exit(main())
