"""deepad: anomalous images in unlabeled image sets, by reconstruction error or deep features."""

__version__ = "0.1.0"

from deepad.detector import Detector  # noqa: E402 - the Python API: Detector(...).fit(images)

__all__ = ["Detector"]
