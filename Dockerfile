# Classpulse service image: the same image runs `classpulse serve`, `classpulse worker` and `classpulse beat`.
# CPU only. Build: docker compose build (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLASSPULSE_DATA_DIR=/data

# ffmpeg/ffprobe decode the recordings; WeasyPrint renders the PDF with Pango and HarfBuzz (subset for font
# embedding) through fontconfig, and needs at least one font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ffmpeg \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig \
        fonts-dejavu-core fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# CPU builds of torch and torchvision from the PyTorch CPU index, before the project: the default PyPI wheels
# bundle CUDA (gigabytes this image never uses). The versions match pyproject.toml; "2.14.1+cpu" satisfies
# its "torch==2.14.1" pin, so the project install below keeps them.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1

# The project; its report templates and model weights are package data.
COPY . .
RUN pip install .

# face-recognition-models also ships dlib's 68-point landmark model (96 MB), trained on data that forbids
# commercial use; Classpulse never loads it, so the image does not carry it.
RUN rm "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/face_recognition_models/models/shape_predictor_68_face_landmarks.dat"

# facenet-pytorch (MTCNN face detector, weights included in the wheel) is installed without its dependencies:
# its wheel pins torch<2.3, numpy<2 and Pillow<10.3, which would downgrade (or conflict with) the versions
# above, although it runs fine on current releases. Its real dependencies are already installed.
RUN pip install --no-deps facenet-pytorch==2.6.0

# No root at run time; /data (uploads, outputs, the SQLite file if no PostgreSQL) belongs to this user, so a
# fresh named volume mounted there inherits the ownership.
RUN useradd --create-home --uid 10001 classpulse \
    && mkdir -p /data \
    && chown classpulse:classpulse /data
USER classpulse
VOLUME ["/data"]

EXPOSE 8000
CMD ["classpulse", "serve", "--host", "0.0.0.0", "--port", "8000"]
