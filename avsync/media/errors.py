class MediaError(Exception):
    """An input that cannot be read. ``code`` is stable and goes into the report's error object."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
