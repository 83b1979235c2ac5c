"""``python -m dlcourse`` is the ``dlcourse`` command."""

from .cli import main

raise SystemExit(main())
