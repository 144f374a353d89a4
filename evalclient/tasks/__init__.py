"""Benchmarks: the dataset registry, dataset loading and sampling, and each family's prompts and scoring."""

from evalclient.tasks.manager import DatasetManager
from evalclient.tasks.registry import all_tasks, get_task, task_names, variant_names

__all__ = ["DatasetManager", "all_tasks", "get_task", "task_names", "variant_names"]
