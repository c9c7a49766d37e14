"""The documented error types: a file that cannot be read ends with one of these, never a traceback."""


class ExtractError(Exception):
    """Base class. ``code`` is a stable short name that goes into outputs."""

    code = "extract_error"

    def __str__(self) -> str:  # keep messages one line
        return " ".join(super().__str__().split())


class UnsupportedFormat(ExtractError):
    code = "unsupported_format"


class EmptyDocument(ExtractError):
    code = "empty_document"


class DecodeFailed(ExtractError):
    code = "decode_failed"


class CorruptFile(ExtractError):
    code = "corrupt_file"


class EncryptedFile(ExtractError):
    code = "encrypted_file"


class TooLarge(ExtractError):
    code = "too_large"


class NotAReport(ExtractError):
    code = "not_a_report"


class MissingTool(ExtractError):
    code = "missing_tool"


class TimeLimitExceeded(ExtractError):
    """The file took longer than its time limit (``Limits.max_seconds``) and was stopped."""

    code = "timeout"


class WorkerCrashed(ExtractError):
    """The process reading the file died (a crash in a C library, the out-of-memory killer, an ``os._exit``).

    Set by the batch runner (``extractor.batch``), which reads a file whose worker died once more,
    alone in a fresh process, and gives it this error only when that process dies too.
    """

    code = "worker_crashed"
