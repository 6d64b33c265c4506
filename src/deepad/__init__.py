"""deepad: anomalous images in unlabeled image sets, by reconstruction error or deep features."""

__version__ = "0.1.0"
