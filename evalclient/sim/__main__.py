"""`python3 -m evalclient.sim`: run the TGI simulator."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
