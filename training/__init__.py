"""Training-side code of arniqa-edge, run from a checkout (``python -m training.<tool>``).

Not installed with the wheel: the runtime library is ``arniqa_edge``.
"""
