"""Frequency-domain features: the normalised rFFT "series" TSPulse-style models read and reconstruct.

For a real series of even length T the rFFT has T/2 + 1 bins. The last (Nyquist) bin is set aside;
the remaining T/2 complex bins become a length-T real sequence ``[real / max|real| | imag / max|imag|]``
which is patched exactly like the time series.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class Spectrum(NamedTuple):
    """The normalised FFT series and what is needed to invert it."""

    series: torch.Tensor  # (..., T)
    real_max: torch.Tensor  # (..., 1)
    imag_max: torch.Tensor  # (..., 1)
    nyquist: torch.Tensor  # (..., 1) complex


def fft_series(x: torch.Tensor, eps: float = 1e-3) -> Spectrum:
    """Normalised rFFT features of ``x`` (``(..., T)``, T even)."""
    t = x.shape[-1]
    if t % 2:
        raise ValueError(f"the FFT features need an even length, got {t}")
    spec = torch.fft.rfft(x, dim=-1)
    body, nyquist = spec[..., :-1], spec[..., -1:]
    real, imag = body.real, body.imag
    real_max = real.abs().amax(-1, keepdim=True) + eps
    imag_max = imag.abs().amax(-1, keepdim=True) + eps
    return Spectrum(torch.cat([real / real_max, imag / imag_max], dim=-1), real_max, imag_max, nyquist)


def inverse_fft_series(series: torch.Tensor, ref: Spectrum) -> torch.Tensor:
    """Time series from a (predicted) normalised FFT series, de-normalised with ``ref``'s maxima."""
    half = series.shape[-1] // 2
    real = series[..., :half] * ref.real_max
    imag = series[..., half:] * ref.imag_max
    spec = torch.cat([torch.complex(real, imag), ref.nyquist], dim=-1)
    return torch.fft.irfft(spec, n=series.shape[-1], dim=-1)


def frequency_signature(x: torch.Tensor, log: bool = True) -> torch.Tensor:
    """Softmax over the amplitude spectrum (bins 1..T/2, DC dropped): the target of the prob head."""
    amp = torch.fft.rfft(x, dim=-1).abs()[..., 1:]
    return torch.softmax(torch.log1p(amp) if log else amp, dim=-1)
