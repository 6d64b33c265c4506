"""deepad: anomalous images in unlabeled image sets, by reconstruction error or deep features."""

__version__ = "0.1.0"
__all__ = ["Detector"]


def __getattr__(name: str):
    """`from deepad import Detector` (the Python API), imported on first use: `import deepad`
    alone stays light (no torch), as `make data` and `deepad score --help` need."""
    if name == "Detector":
        from deepad.detector import Detector

        return Detector
    raise AttributeError(f"module 'deepad' has no attribute {name!r}")
