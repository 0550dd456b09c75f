"""Training-side code of arniqa-edge, run from a checkout (``python -m training.<package>.<tool>``).

- ``pretraining/``: ARNIQA's SimCLR pretraining (pairs, synthesis, objective, schedule,
  checkpoints, configuration) and the initial encoder weights.
- ``evaluation/``: frozen encoders + ridge regressors: the KADID proxy, ARNIQA's split
  protocol on labelled datasets, fitting a regressor, baselines.
- ``degradation/``: the degradation model; ``datasets/``: labelled IQA datasets;
  ``cvrkd/``: reference-based scoring (CVRKD-IQA).
- ``recipe.py``: one command from the ImageNet initialisation to the shipped files
  (pretraining, then evaluation); ``data_root.py``: where the shared data is, which
  files are images; ``photos.py``: reading them.

``pretrain``, ``evaluate``, ``fit_regressor``, ``kadid_proxy``, ``init_weights`` and
``carry`` at this level only forward to their new homes, for older command lines.
Not installed with the wheel: the runtime library is ``arniqa_edge``.
"""
