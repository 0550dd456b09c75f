"""Exceptions raised for user errors: they carry a message meant to be printed as is."""


class ArniqaEdgeError(Exception):
    """Base class of every error arniqa_edge raises on purpose."""


class InputImageError(ArniqaEdgeError, ValueError):
    """An image that cannot be scored: unreadable, corrupt, truncated, wrong shape or size."""


class WeightsError(ArniqaEdgeError):
    """Missing, unreadable or mismatched model/regressor files."""


class BackendUnavailableError(ArniqaEdgeError, RuntimeError):
    """A backend or device that was asked for is not available on this machine."""


class InsufficientMemoryError(ArniqaEdgeError, MemoryError):
    """An image (or batch) that would need more memory than the budget allows, or whose allocation failed."""


class NonFiniteOutputError(WeightsError, ValueError):
    """The model gave NaN or infinite features or scores: non-finite weights, or an overflow."""


class ImageDataWarning(UserWarning):
    """A decoder reported damaged data but still produced an image: its score may be wrong."""
