"""What goes wrong with a source for good: errors both APIs' clients raise and the assets treat
alike — a run that meets one fails at once with its message (retrying gets the same answer)."""

from __future__ import annotations


class SourceAuthError(RuntimeError):
    """The API rejected the credentials; the message names the variables to check."""


class UnusableAnswerError(RuntimeError):
    """An answer refused for good — wrong shape, too large, redirected: retrying cannot help,
    and nothing of the window may be replaced by it. The message names the endpoint and why."""


class RecordError(ValueError):
    """A source record the pipeline cannot store faithfully; the message names it."""


PERMANENT_SOURCE_ERRORS = (SourceAuthError, RecordError, UnusableAnswerError)
