"""Named errors of the index package; webapi/errors.py maps them to HTTP responses."""


class ScreenwiseError(Exception):
    """Base class of every error screenwise raises on purpose."""


class ImportFormatError(ScreenwiseError):
    """A file could not be read as records; the message names the file and the line or field."""


class UnsupportedFormatError(ImportFormatError):
    """The file's type is not one screenwise reads."""


class EmptyImportError(ImportFormatError):
    """The file parsed but holds no usable record."""


class FieldTooLargeError(ImportFormatError):
    """One field of a record is larger than screenwise stores (``readers.MAX_FIELD_CHARS``)."""


class NotFoundError(ScreenwiseError):
    """An unknown project, record or theme."""


class ConflictError(ScreenwiseError):
    """The request conflicts with what is stored (a duplicate name, a decision already made,
    a retrain already running); ``details`` name what it conflicts with."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class ValidationError(ScreenwiseError):
    """A wrong or missing field; ``field`` names it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooLargeError(ScreenwiseError):
    """An upload over a configured limit (bytes, records per import, candidates per request)."""


class LimitExceededError(ImportFormatError):
    """A file over a configured per-field or per-line limit; the message names file, line and
    field."""
