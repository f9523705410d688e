"""Classification metrics without ground-truth-only shortcuts: accuracy, macro-F1, recall, confusion."""

from __future__ import annotations

import numpy as np

from classpulse.emotion.labels import EMOTION_LABELS


def classification_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Labels (n,) in FER2013 order -> accuracy, macro-F1, per-class recall and the confusion matrix."""
    k = len(EMOTION_LABELS)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(1)
    predicted = confusion.sum(0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0
    )
    present = support > 0
    return {
        "n": int(confusion.sum()),
        "accuracy": float(tp.sum() / max(confusion.sum(), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "recall": {label: round(float(r), 4) for label, r in zip(EMOTION_LABELS, recall, strict=True)},
        "confusion": confusion.tolist(),
    }
