"""Evaluating frozen encoders + ridge regressors, as ARNIQA does.

evaluate (the KADID proxy benchmark and ARNIQA's 10-split protocol), fit_regressor
(ridge on your labelled images), kadid_proxy (human-anchored labels for synthetic
distortions; external_distortions: an independent implementation), protocols,
splits, regression and ridge_path (the ridge machinery), graph_features (features
through ONNX exports) and baselines.
"""
