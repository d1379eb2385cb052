"""Typed errors of the perception core. Each message says what is wrong and how to fix it."""


class FerError(Exception):
    """Base class of every fer_ros error."""


class ConfigError(FerError, ValueError):
    """A setting is out of range or names something that does not exist."""


class ModelError(FerError):
    """A model file is missing, corrupt, of the wrong shape or fails its checksum."""


class ImageFormatError(FerError, ValueError):
    """An input image cannot be converted: unsupported encoding, bad size or truncated data."""

    def __init__(self, message: str, cause: str = "bad_image"):
        super().__init__(message)
        self.cause = cause  # short key for counting rejected frames by cause
