"""The seven FER2013 expression classes in dataset order; torch-free so reports can import it cheaply."""

EMOTION_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
