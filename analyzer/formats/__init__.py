"""Access-log formats: compile Apache and NGINX format strings, presets, detection."""

from .detect import Detection, detect_format
from .fields import FieldSpec, Kind
from .logformat import PRESETS, LogFormat

__all__ = ["PRESETS", "Detection", "FieldSpec", "Kind", "LogFormat", "detect_format"]
