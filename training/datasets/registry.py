"""The labelled IQA datasets we read: those of the one dataset table (`arniqa_edge.datasets`) with a label file.

Label files are those of /shared/data/labels (from icbcbicc/IQA-Dataset): CSV with
columns dis_img_path, dis_type, [ref_img_path,] score, where every path starts with
the dataset's folder name (``KADID-10k/images/I01_01_01.png``).
"""

from __future__ import annotations

from types import MappingProxyType

from arniqa_edge import datasets
from arniqa_edge.datasets import DatasetSpec

DATASETS = MappingProxyType({name: spec for name, spec in datasets.DATASETS.items() if spec.label_file})


def get_dataset_spec(name: str) -> DatasetSpec:
    spec = datasets.get_dataset_spec(name)
    if not spec.label_file:
        raise ValueError(f"dataset {name!r} has no label file to read; labelled datasets: {', '.join(DATASETS)}")
    return spec
