"""Image preprocessing for Visualized BGE, with PIL and numpy only (no torchvision).

The reference's evaluation transform is torchvision's ``Resize(size, bicubic)`` (shorter side to
``size``), ``CenterCrop(size)``, RGB conversion, ``ToTensor`` and ``Normalize`` with CLIP's mean and
std. The same steps are done here in the same order with the same PIL calls and float32 arithmetic,
so the pixels are identical (checked against torchvision in tests/comparison).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: OpenAI CLIP's pixel statistics, which EVA-CLIP towers are trained with.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

ImageInput = Any  # a PIL image, a path, or encoded image bytes


def open_image(image: ImageInput) -> Any:
    """A PIL image from a PIL image, a file path or encoded bytes; errors name the input."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image
    try:
        if isinstance(image, (bytes, bytearray, memoryview)):
            img = Image.open(io.BytesIO(bytes(image)))
        elif isinstance(image, (str, os.PathLike)):
            img = Image.open(Path(image))
        else:
            raise TypeError(f"an image must be a PIL image, a path or bytes, not {type(image).__name__}")
        img.load()
    except (OSError, UnidentifiedImageError) as exc:
        shown = image if isinstance(image, (str, os.PathLike)) else f"<{len(image)} bytes>"
        raise ValueError(f"cannot read image {shown}: {exc}") from exc
    return img


def _resize_shorter(img: Any, size: int) -> Any:
    """Shorter side to ``size`` (bicubic), the longer one scaled and truncated as torchvision does."""
    from PIL import Image

    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), Image.Resampling.BICUBIC)


def _center_crop(img: Any, size: int) -> Any:
    w, h = img.size
    if w < size or h < size:  # cannot happen after _resize_shorter; kept as a guard
        raise ValueError(f"image {w}x{h} is smaller than the {size}px crop")
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def preprocess(image: ImageInput, size: int) -> np.ndarray:
    """One image as the tower's input: ``[3, size, size]`` float32, CLIP-normalised."""
    img = _center_crop(_resize_shorter(open_image(image), size), size).convert("RGB")
    arr = np.asarray(img, dtype=np.uint8).astype(np.float32) / np.float32(255)
    arr = arr.transpose(2, 0, 1)
    mean = np.asarray(CLIP_MEAN, dtype=np.float32)[:, None, None]
    std = np.asarray(CLIP_STD, dtype=np.float32)[:, None, None]
    return np.ascontiguousarray((arr - mean) / std)


def preprocess_batch(images: Sequence[ImageInput], size: int) -> np.ndarray:
    """``[n, 3, size, size]`` float32."""
    return np.stack([preprocess(im, size) for im in images]) if images else np.zeros((0, 3, size, size), np.float32)
