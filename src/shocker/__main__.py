"""`python -m shocker`."""

from shocker.cli.entry import main

raise SystemExit(main())
