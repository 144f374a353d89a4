"""The results tree: layout, atomic writes, fingerprints and the run manifest."""

from __future__ import annotations

from evalclient.results.fingerprint import combination_fingerprint
from evalclient.results.organizer import ResultsOrganizer
from evalclient.results.prediction import PredictionRow
from evalclient.results.record import CombinationRecord, SampleError, load_record

__all__ = [
    "CombinationRecord",
    "PredictionRow",
    "ResultsOrganizer",
    "SampleError",
    "combination_fingerprint",
    "load_record",
]
