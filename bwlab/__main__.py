from bwlab.cli import main

raise SystemExit(main())
