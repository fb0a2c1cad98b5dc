import sys

from customer_analytics.cli import main

sys.exit(main())
