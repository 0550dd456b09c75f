"""The IQA datasets we read, as data: label file, folder name, score range and direction.

Label files are those of /shared/data/labels (from icbcbicc/IQA-Dataset): CSV with
columns dis_img_path, dis_type, [ref_img_path,] score, where every path starts with
the dataset's folder name (``KADID-10k/images/I01_01_01.png``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from arniqa_edge.regressor import ScoreScale


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    #: label file name under the labels folder.
    label_file: str
    #: first component of the image paths in the label file.
    folder: str
    scale: ScoreScale
    #: synthetic datasets distort reference images: splits keep a reference's images together.
    synthetic: bool


_SPECS = (
    DatasetSpec("kadid10k", "KADID-10k", "KADID-10k.csv", "KADID-10k", ScoreScale(1, 5), True),
    DatasetSpec("live", "LIVE", "LIVE.csv", "LIVE", ScoreScale(0, 100, higher_is_better=False), True),
    DatasetSpec("csiq", "CSIQ", "CSIQ.csv", "CSIQ", ScoreScale(0, 1, higher_is_better=False), True),
    DatasetSpec("tid2013", "TID2013", "TID2013.csv", "TID2013", ScoreScale(0, 9), True),
    DatasetSpec("koniq10k", "KonIQ-10k", "KonIQ-10k.csv", "KonIQ-10k", ScoreScale(1, 5), False),
    DatasetSpec("clive", "LIVE Challenge", "LIVE_Challenge.csv", "LIVE_Challenge", ScoreScale(0, 100), False),
    DatasetSpec("spaq", "SPAQ", "SPAQ.csv", "SPAQ", ScoreScale(0, 100), False),
)

DATASETS = MappingProxyType({spec.name: spec for spec in _SPECS})


def get_dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}") from None
