"""`python -m shocker`."""

from shocker.cli.main import main

raise SystemExit(main())
