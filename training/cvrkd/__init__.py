"""CVRKD-IQA (Yin et al., AAAI 2022): quality against non-aligned references, by distillation.

- `model`: the network with its ImageNet backbone, the score and distillation losses;
- `data`: (LQ, aligned reference, non-aligned reference, KADID-proxy label) triplets;
- `train`: `python -m training.cvrkd.train teacher|student ...`;
- `evaluate`: `python -m training.cvrkd.evaluate MODEL ...`, beside the NR scorer.

The network lives in `arniqa_edge.cvrkd`, which serves it at inference.
"""
