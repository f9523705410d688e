"""What the expression model takes and gives: the seven FER2013 classes in dataset order and the size of
its square grayscale input. Torch-free, so the face cropper and the reports can import them cheaply."""

EMOTION_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: Side of the aligned face crop the network reads, in pixels (FER2013's 48x48).
INPUT_SIZE = 48
