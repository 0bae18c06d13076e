"""Vectorised 64-bit hash mixing shared by near-dedup shingles and decontamination n-grams (Beam-free)."""
from __future__ import annotations

import numpy as np

_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser on every element: spreads the bits of combined hashes (wraps mod 2**64)."""
    h = h ^ (h >> _S33)
    h = h * _FMIX1
    h = h ^ (h >> _S33)
    h = h * _FMIX2
    return h ^ (h >> _S33)
