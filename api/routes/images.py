"""/v1/images: online expression inference on one still image."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentCustomer, LayoutDep, SettingsDep
from api.privacy import enforce, form_declarations
from api.schemas import ImageEmotions, ImageFace, Message
from api.uploads import multipart_openapi, receive_form

router = APIRouter(prefix="/v1/images", tags=["images"])

_IMAGE_FORM = multipart_openapi(
    "a JPEG, PNG or WebP photo",
    purpose={
        "type": "string",
        "description": "why the image is analysed; required when CLASSPULSE_JURISDICTION=eu",
    },
    consent={"type": "boolean", "description": "required when CLASSPULSE_REQUIRE_CONSENT is set"},
)

#: Images are analysed with their long side at most this (the video pipeline's default `max_side`): MTCNN's
#: cost grows with the pixel count, and a 9000x9000 image took 25-104 s of CPU at full size.
ANALYSIS_MAX_SIDE = 1280
#: EXIF orientations that turn the image by 90 degrees, so its displayed width is its stored height.
ORIENTATION_TAG = 0x0112
QUARTER_TURNS = {5, 6, 7, 8}


@dataclass(frozen=True)
class LoadedImage:
    """`rgb` (h, w, 3) uint8 at analysis size; `width` x `height` the image's own pixels (EXIF-rotated)."""

    rgb: np.ndarray
    width: int
    height: int

    @property
    def to_source(self) -> float:
        """Factor from analysis pixels to the image's own pixels."""
        return self.width / self.rgb.shape[1]


def _load_rgb(path: Path, max_pixels: int) -> LoadedImage:
    """The image, EXIF orientation applied, its long side scaled to at most `ANALYSIS_MAX_SIDE`.

    ValueError (a customer-readable reason) if unreadable or over `max_pixels`, judged from the header
    before anything is decoded.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ValueError(
                    f"{path.name}: {width}x{height} pixels ({width * height / 1e6:.1f} megapixels) exceed "
                    f"the limit of {max_pixels / 1e6:.1f} megapixels"
                )
            if image.getexif().get(ORIENTATION_TAG, 1) in QUARTER_TURNS:
                width, height = height, width
            image.draft("RGB", (ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(image)
            image.thumbnail((ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE), Image.Resampling.BILINEAR)
            return LoadedImage(rgb=np.asarray(image.convert("RGB")), width=width, height=height)
    except Image.DecompressionBombError:
        raise ValueError(f"{path.name}: the image has far more pixels than the limit") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path.name}: not a readable image ({type(exc).__name__})") from None


def _classify(image: LoadedImage) -> list[dict]:
    """Faces with boxes in the image's own pixels."""
    from classpulse.pipeline import classify_image

    faces = classify_image(image.rgb)
    for face in faces:
        face["box"] = [round(v * image.to_source, 1) for v in face["box"]]
    return faces


@router.post(
    "/emotions",
    response_model=ImageEmotions,
    openapi_extra=_IMAGE_FORM,
    responses={
        401: {"model": Message},
        403: {"model": Message, "description": "the deployment's policy or jurisdiction forbids it"},
        408: {"model": Message},
        413: {"model": Message},
        422: {"model": Message},
    },
)
async def image_emotions(
    request: Request, customer: CurrentCustomer, settings: SettingsDep, layout: LayoutDep
) -> ImageEmotions:
    """Faces in one uploaded image, with boxes (pixels) and the seven expression probabilities.

    Nothing is stored: the image is deleted as soon as it has been analysed. Images over
    CLASSPULSE_MAX_IMAGE_PIXELS are refused (422); larger ones are analysed at 1280 px on the long side.
    Per-face expressions are refused (403) unless the deployment's policy is full, and by its jurisdiction's
    rules like a job (optional form fields `purpose`, `consent`)."""
    incoming = layout.incoming / uuid.uuid4().hex
    await run_in_threadpool(incoming.mkdir, parents=True)
    try:
        form = await receive_form(
            request,
            dest_dir=incoming,
            file_field="file",
            idle_timeout_s=settings.upload_idle_timeout_s,
            max_file_bytes=settings.max_image_bytes,
            limit_message=f"the image exceeds the limit of {settings.max_image_mb:g} MB",
        )
        policy = enforce(settings, None, *form_declarations(form.fields))
        if not policy.per_face:
            raise HTTPException(
                status_code=403,
                detail=f"per-face expression inference is not available under this deployment's policy "
                f"({policy.value})",
            )
        assert form.path is not None
        request.app.state.metrics.upload_bytes.labels("image").inc(form.size)
        try:
            image = await run_in_threadpool(_load_rgb, form.path, settings.max_image_pixels)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
    finally:
        await run_in_threadpool(shutil.rmtree, incoming, True)
    # One inference at a time per API process: the model already uses every core.
    faces = await anyio.to_thread.run_sync(_classify, image, limiter=request.app.state.inference_limiter)
    return ImageEmotions(width=image.width, height=image.height, faces=[ImageFace(**face) for face in faces])
