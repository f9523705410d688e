"""/v1/images: online expression inference on one still image."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentCustomer, LayoutDep, SettingsDep
from api.schemas import ImageEmotions, ImageFace, Message
from api.uploads import multipart_openapi, receive_form

router = APIRouter(prefix="/v1/images", tags=["images"])

_IMAGE_FORM = multipart_openapi("a JPEG, PNG or WebP photo")


def _load_rgb(path: Path):
    """The image as an (h, w, 3) uint8 RGB array, EXIF orientation applied; ValueError if unreadable."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path.name}: not a readable image ({type(exc).__name__})") from None


def _classify(rgb) -> list[dict]:
    from classpulse.pipeline import classify_image

    return classify_image(rgb)


@router.post(
    "/emotions",
    response_model=ImageEmotions,
    openapi_extra=_IMAGE_FORM,
    responses={401: {"model": Message}, 413: {"model": Message}, 422: {"model": Message}},
)
async def image_emotions(
    request: Request, customer: CurrentCustomer, settings: SettingsDep, layout: LayoutDep
) -> ImageEmotions:
    """Faces in one uploaded image, with boxes (pixels) and the seven expression probabilities.

    Nothing is stored: the image is deleted as soon as it has been analysed."""
    incoming = layout.incoming / uuid.uuid4().hex
    await run_in_threadpool(incoming.mkdir, parents=True)
    try:
        form = await receive_form(
            request,
            dest_dir=incoming,
            file_field="file",
            max_file_bytes=settings.max_image_bytes,
            limit_message=f"the image exceeds the limit of {settings.max_image_mb:g} MB",
        )
        assert form.path is not None
        try:
            rgb = await run_in_threadpool(_load_rgb, form.path)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
    finally:
        await run_in_threadpool(shutil.rmtree, incoming, True)
    # One inference at a time per API process: the model already uses every core.
    faces = await anyio.to_thread.run_sync(_classify, rgb, limiter=request.app.state.inference_limiter)
    return ImageEmotions(
        width=int(rgb.shape[1]), height=int(rgb.shape[0]), faces=[ImageFace(**face) for face in faces]
    )
