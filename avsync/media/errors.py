"""The error a media input raises, with a stable ``code`` for the report's error object.

Codes raised while reading media: ``not_found``, ``is_directory``, ``not_a_regular_file`` (a FIFO,
a device, a socket), ``permission_denied``, ``empty_file``, ``not_media``, ``corrupt`` (too little
decodes to judge), ``no_video``, ``no_audio``, ``no_such_audio_stream``.
"""


class MediaError(Exception):
    """An input that cannot be read. ``code`` is stable and goes into the report's error object."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
