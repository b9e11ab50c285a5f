"""Batch archive restoration: many inputs, one manifest, resumable, one bad file never stops the rest."""

from vidcolor.batch.items import BatchItem, ReferenceMap, collect_items
from vidcolor.batch.manifest import Manifest, Row
from vidcolor.batch.run import EXECUTORS, BatchResult, Executor, default_jobs, run_batch

__all__ = [
    "EXECUTORS",
    "BatchItem",
    "BatchResult",
    "Executor",
    "Manifest",
    "ReferenceMap",
    "Row",
    "collect_items",
    "default_jobs",
    "run_batch",
]
