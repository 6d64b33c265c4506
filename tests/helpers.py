"""Constants the tests share: the repository root and the data folder."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEEPAD_DATA", ROOT / "data"))
