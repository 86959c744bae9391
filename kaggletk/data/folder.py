"""Image folders, the layout of larger Kaggle image competitions: ``train/<id>.png`` with a CSV of
``id,label``, and ``test/<id>.png`` (PNG, JPEG, BMP, GIF or TIFF, read with Pillow).

Every image of a competition must have one size; grayscale images stay one channel, anything else
is read as RGB. IDs are the file names without their extension (a labels CSV may name them with or
without it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kaggletk.errors import KaggletkError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def read_images(paths: list[Path], folder: Path) -> np.ndarray:
    """Images (n, h, w) uint8 (all grayscale) or (n, h, w, 3) (any colour), one size for all.

    Alpha is dropped, and an RGB image with three equal channels counts as grayscale.
    """
    from PIL import Image, UnidentifiedImageError

    if not paths:
        raise KaggletkError(f"{folder}: no images ({', '.join(EXTENSIONS)}) in the folder")
    first_size, gray, arrays = None, True, []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                size, mode = image.size, image.mode
                if first_size is None:
                    first_size = size
                elif size != first_size:
                    raise KaggletkError(f"{path}: {size[0]}x{size[1]} pixels, but {paths[0].name} is "
                                        f"{first_size[0]}x{first_size[1]}; every image of a competition must have one size "
                                        "(resize them first)")
                if mode in _GRAY_MODES:
                    arrays.append(np.asarray(image.convert("L")))
                else:  # alpha dropped; a colour image whose three channels are equal is a gray one
                    rgb = np.asarray(image.convert("RGB"))
                    equal = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
                    gray = gray and equal
                    arrays.append(rgb[..., 0] if equal else rgb)
        except UnidentifiedImageError as exc:
            raise KaggletkError(f"{path}: not an image Pillow can read; remove or replace it") from exc
        except OSError as exc:
            raise KaggletkError(f"{path}: truncated or corrupt image ({exc}); replace it") from exc
    if not gray:
        arrays = [a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2) for a in arrays]
    return np.stack(arrays).astype(np.uint8)


def image_ids(paths: list[Path]) -> np.ndarray:
    """The file names without extension, as text."""
    return np.array([p.stem for p in paths], dtype=str)


def strip_extension(ids: np.ndarray) -> np.ndarray:
    """IDs as a labels CSV may write them (``img_1.png``), without an image extension."""
    return np.array([i[: -len(Path(i).suffix)] if Path(i).suffix.lower() in EXTENSIONS else i for i in ids.astype(str)], dtype=str)
