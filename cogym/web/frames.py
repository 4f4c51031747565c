"""Rendered frames -> image bytes for the page (Pillow, imported on first use)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from cogym.errors import MissingExtraError

__all__ = ["FORMATS", "as_image", "encode_frame"]

FORMATS = {"jpeg": "image/jpeg", "png": "image/png"}


def encode_frame(frame: Any, fmt: str = "jpeg", quality: int = 80) -> bytes | None:
    """JPEG or PNG bytes of an RGB(A) or grey ``uint8`` array; ``None`` if it is not an image."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        return None
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (3, 4))):
        return None
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingExtraError("the human actor's page", "web", "pillow") from exc
    image = Image.fromarray(np.ascontiguousarray(frame))
    out = io.BytesIO()
    if fmt == "jpeg":
        if image.mode == "RGBA":
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=quality)
    else:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def as_image(frame: np.ndarray) -> np.ndarray:
    """``frame`` as ``uint8`` (floats in [0, 1] scaled to [0, 255], others clipped)."""
    if frame.dtype == np.uint8:
        return frame
    if np.issubdtype(frame.dtype, np.floating) and frame.size and float(np.nanmax(frame)) <= 1.0:
        frame = frame * 255.0
    return np.clip(np.nan_to_num(frame), 0, 255).astype(np.uint8)
