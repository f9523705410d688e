# Two commands for a fresh Debian machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# facenet-pytorch's wheel pins torch<2.3, numpy<2 and Pillow<10.3 in its metadata although it runs on the
# releases pinned in pyproject.toml, so it is installed on its own without dependencies (README, "Why --no-deps").
FACENET_PYTORCH := facenet-pytorch==2.6.0
SHARED ?= ../shared
DEMO_VIDEO ?= $(SHARED)/data/videos/single_face_expressions_pexels_360p_20s.mp4

.PHONY: install demo test lint serve clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile scripts/install-system-deps.sh
	./scripts/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps $(FACENET_PYTORCH)
	$(BIN)/python -c "import facenet_pytorch, torch, torchvision, weasyprint, cv2"
	touch $@

demo: install
	$(BIN)/classpulse analyze $(DEMO_VIDEO) --out out/demo --title "Classpulse demo"
	@echo "open out/demo/report.pdf (also report.html, summary.json, timeline.json, faces.csv)"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

serve: install
	./scripts/serve-local.sh

clean:
	rm -rf out .pytest_cache .ruff_cache
