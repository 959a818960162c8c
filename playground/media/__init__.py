"""Media: the only place that renders stand-in videos and looks inside media files.

``render`` writes an H.264 MP4 that shows a request (mode, settings, prompt and inputs);
``probe`` says what a file really holds and ``check_media`` judges it against a profile's limits.
Test and example files come from ``playground.media.samples``.
"""

from playground.media.probe import MediaError, MediaInfo, check_media, image_size, probe
from playground.media.render import RenderSpec, render

__all__ = ["MediaError", "MediaInfo", "RenderSpec", "check_media", "image_size", "probe", "render"]
