"""Sampling of composed degradations, apart from applying them.

ARNIQA's degradation model: with probability ``pristine_prob`` an image stays
undistorted; otherwise 1..max_distortions groups are drawn without replacement, in
random order, one type uniformly within each group, and one level per type from a
half-Gaussian over the levels (mean 0, std 2.5 on the level index 0..4, normalised).

The result is a `DistortionSequence`: immutable, hashable, and replayable. Each step
carries a seed; the generator for step i is ``step.rng(realization)``, so replaying a
sequence with the same realization reproduces every random draw (noise, angles,
patch positions) on an image of the same size, while a different realization gives
fresh draws of the same distortions (ARNIQA draws them anew for each view).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .registry import GROUPS, NUM_LEVELS, check_level, get_spec

LEVEL_STD = 2.5  # std of the half-Gaussian over level indices 0..4


def level_probabilities(num_levels: int = NUM_LEVELS, std: float = LEVEL_STD) -> np.ndarray:
    """P(level = 1..num_levels): a zero-mean Gaussian density at indices 0..num_levels-1, normalised."""
    if not 1 <= num_levels <= NUM_LEVELS:
        raise ValueError(f"num_levels must be in 1..{NUM_LEVELS}, got {num_levels}")
    density = np.exp(-(np.arange(num_levels) ** 2) / (2 * std**2))
    return density / density.sum()


@dataclass(frozen=True)
class DistortionStep:
    """One distortion of a sequence: type name, level 1..5 and the seed of its random draws."""

    name: str
    level: int
    seed: int

    def __post_init__(self) -> None:
        get_spec(self.name)
        check_level(self.level)

    def rng(self, realization: int = 0) -> np.random.Generator:
        """The generator this step draws from; one stream per (seed, realization)."""
        return np.random.default_rng([self.seed, realization])

    def __str__(self) -> str:
        return f"{self.name}@{self.level}"


@dataclass(frozen=True)
class DistortionSequence:
    """An ordered, immutable sequence of distortion steps; empty means pristine."""

    steps: tuple[DistortionStep, ...] = ()

    @classmethod
    def of(cls, *steps: tuple[str, int], seed: int = 0) -> DistortionSequence:
        """Build from (name, level) pairs, seeding the steps from `seed`."""
        seeds = np.random.SeedSequence(seed).generate_state(len(steps), dtype=np.uint64)
        return cls(tuple(DistortionStep(name, level, int(s)) for (name, level), s in zip(steps, seeds)))

    @property
    def is_pristine(self) -> bool:
        return not self.steps

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(step.level for step in self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[DistortionStep]:
        return iter(self.steps)

    def __str__(self) -> str:
        return " > ".join(map(str, self.steps)) or "pristine"


class CompositionSampler:
    """Draws `DistortionSequence`s as ARNIQA's degradation model does.

    Args:
        max_distortions: at most this many steps (0..7; 0 means always pristine).
        num_levels: levels 1..num_levels are used (1..5).
        pristine_prob: probability of the empty sequence.
    """

    def __init__(self, max_distortions: int = 4, num_levels: int = NUM_LEVELS, pristine_prob: float = 0.05):
        if not 0 <= max_distortions <= len(GROUPS):
            raise ValueError(f"max_distortions must be in 0..{len(GROUPS)}, got {max_distortions}")
        if not 0.0 <= pristine_prob <= 1.0:
            raise ValueError(f"pristine_prob must be in [0, 1], got {pristine_prob}")
        self.max_distortions = max_distortions
        self.num_levels = num_levels
        self.pristine_prob = pristine_prob
        self.level_probabilities = level_probabilities(num_levels)
        self._groups = tuple(GROUPS.values())

    def generate_parameters(self, rng: np.random.Generator) -> DistortionSequence:
        """One random sequence; the same generator state always gives the same sequence."""
        if rng.random() < self.pristine_prob or self.max_distortions == 0:
            return DistortionSequence()
        count = int(rng.integers(1, self.max_distortions + 1))
        group_order = rng.choice(len(self._groups), size=count, replace=False)
        steps = []
        for group_index in group_order:
            names = self._groups[group_index]
            name = names[rng.integers(len(names))]
            level = int(rng.choice(self.num_levels, p=self.level_probabilities)) + 1
            seed = int(rng.integers(2**63))
            steps.append(DistortionStep(name, level, seed))
        return DistortionSequence(tuple(steps))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_distortions={self.max_distortions}, "
            f"num_levels={self.num_levels}, pristine_prob={self.pristine_prob})"
        )


class SingleDistortionSampler:
    """Draws one-step sequences: a type uniformly among `types`, a level uniformly in 1..num_levels.

    KADID-10k applies one distortion per image, every type at every level equally
    often; sequences drawn this way are the ones a KADID-proxy label exists for.
    """

    def __init__(self, types: Sequence[str], num_levels: int = NUM_LEVELS):
        if not types:
            raise ValueError("SingleDistortionSampler needs at least one distortion type")
        for name in types:
            get_spec(name)
        if not 1 <= num_levels <= NUM_LEVELS:
            raise ValueError(f"num_levels must be in 1..{NUM_LEVELS}, got {num_levels}")
        self.types = tuple(types)
        self.num_levels = num_levels

    def generate_parameters(self, rng: np.random.Generator) -> DistortionSequence:
        name = self.types[int(rng.integers(len(self.types)))]
        level = int(rng.integers(1, self.num_levels + 1))
        return DistortionSequence((DistortionStep(name, level, int(rng.integers(2**63))),))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.types)} types, num_levels={self.num_levels})"


class MixtureSampler:
    """With probability `first_prob` a draw of `first`, otherwise one of `second`."""

    def __init__(self, first, second, first_prob: float):
        if not 0.0 <= first_prob <= 1.0:
            raise ValueError(f"first_prob must be in [0, 1], got {first_prob}")
        self.first, self.second, self.first_prob = first, second, first_prob

    def generate_parameters(self, rng: np.random.Generator) -> DistortionSequence:
        chosen = self.first if rng.random() < self.first_prob else self.second
        return chosen.generate_parameters(rng)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.first!r} p={self.first_prob}, {self.second!r})"
