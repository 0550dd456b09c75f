"""The IQA datasets, as data: one table for the runtime, the regressor fitting and the evaluation.

Per dataset: its label file (those of the project's shared data, from
icbcbicc/IQA-Dataset: CSV with columns dis_img_path, dis_type, [ref_img_path,]
score, every path starting with the dataset's folder), the range and direction
of those labels (`scale`, what `training.evaluation.fit_regressor --dataset` and the
evaluation use), and the range that ARNIQA's released `regressor_<name>.pth`
files are mapped with (`released_scale`, the paper's hubconf table).

The two ranges differ where the released regressors were fitted on other labels
than the shared files hold: KonIQ-10k's were fitted on its 1..100 MOS, the shared
file has the 1..5 MOS. The label ranges are checked against the files by
tests/test_datasets.py (min..max seen: KADID 1..4.93, LIVE DMOS -2.6..111.8,
CSIQ 0..1, TID2013 0.24..7.21, KonIQ 1.1..4.31, LIVE Challenge 3.4..92.4,
SPAQ 2..96). numpy-free and torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from .score_scale import ScoreScale


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    #: label file name under the labels folder (None: no label file in the shared data).
    label_file: str | None
    #: first component of the image paths in the label file.
    folder: str
    #: range and direction of the labels of `label_file`.
    scale: ScoreScale
    #: synthetic datasets distort reference images: splits keep a reference's images together.
    synthetic: bool
    #: range the released ARNIQA regressor of this dataset is mapped with (None: `scale`).
    released: ScoreScale | None = None

    @property
    def released_scale(self) -> ScoreScale:
        return self.released or self.scale


_DMOS = dict(higher_is_better=False)
_SPECS = (
    DatasetSpec("kadid10k", "KADID-10k", "KADID-10k.csv", "KADID-10k", ScoreScale(1, 5), True),
    DatasetSpec(
        "live", "LIVE", "LIVE.csv", "LIVE", ScoreScale(0, 100, **_DMOS), True, released=ScoreScale(1, 100, **_DMOS)
    ),
    DatasetSpec("csiq", "CSIQ", "CSIQ.csv", "CSIQ", ScoreScale(0, 1, **_DMOS), True),
    DatasetSpec("tid2013", "TID2013", "TID2013.csv", "TID2013", ScoreScale(0, 9), True),
    DatasetSpec(
        "koniq10k", "KonIQ-10k", "KonIQ-10k.csv", "KonIQ-10k", ScoreScale(1, 5), False, released=ScoreScale(1, 100)
    ),
    DatasetSpec(
        "clive",
        "LIVE Challenge",
        "LIVE_Challenge.csv",
        "LIVE_Challenge",
        ScoreScale(0, 100),
        False,
        released=ScoreScale(1, 100),
    ),
    DatasetSpec("spaq", "SPAQ", "SPAQ.csv", "SPAQ", ScoreScale(0, 100), False, released=ScoreScale(1, 100)),
    # FLIVE: a released regressor, no label file in the shared data.
    DatasetSpec("flive", "FLIVE", None, "FLIVE", ScoreScale(1, 100), False),
)

#: Every dataset, by name.
DATASETS = MappingProxyType({spec.name: spec for spec in _SPECS})


def get_dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}") from None
