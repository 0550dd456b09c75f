"""ARNIQA pretraining: ``python -m training.pretraining.pretrain`` (see its docstring).

pairs (decode and crop) -> synthesis (degrade on the device) -> objective (NT-Xent
+ optional quality head) with lr_schedule, freezing and resumable checkpoints;
config holds every setting, init_weights/imagenet_init the starting encoder, carry
packs the photos for a GPU machine.
"""
