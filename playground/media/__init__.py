"""Media: the only place that renders stand-in videos and looks inside media files.

* ``playground.media.render``: ``RenderSpec`` and ``render``, an H.264 MP4 showing a request
  (mode, settings, prompt and inputs);
* ``playground.media.probe``: ``probe`` says what a file really holds, ``check_media`` judges it
  against a profile's limits, ``MediaError`` explains a file that cannot be used;
* ``playground.media.checks``: ``check_file``, probe and check in one step: what the client runs
  before an upload and the sandbox before a render;
* ``playground.media.samples``: small generated files for tests and examples.

Nothing is re-exported here: a package attribute named ``render`` or ``probe`` would hide the
module of the same name from ``import playground.media.render`` and from ``mock.patch``.
"""
