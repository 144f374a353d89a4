"""The results tree: layout, atomic writes, fingerprints and the run manifest."""

from __future__ import annotations

from evalclient.results.fingerprint import combination_fingerprint
from evalclient.results.organizer import ResultsOrganizer

__all__ = ["ResultsOrganizer", "combination_fingerprint"]
