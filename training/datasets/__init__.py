"""Loaders of the public IQA datasets (labels from the project's label files, images from the user)."""

from .labelled import IQADataset, LabelledImages, load_dataset, read_labels
from .registry import DATASETS, DatasetSpec, get_dataset_spec

__all__ = ["DATASETS", "DatasetSpec", "IQADataset", "LabelledImages", "get_dataset_spec", "load_dataset", "read_labels"]
