"""What the service refuses, as errors every front answers alike: the REST API with 404 and
409, the page with a warning in its language (:func:`heygem.web.i18n.refusal_text`)."""

from __future__ import annotations

from heygem.errors import HeygemError


class NotFoundError(HeygemError):
    """No such batch, output or presenter."""


class ConflictError(HeygemError):
    """An action the state does not allow now; ``reason`` says which rule, as a key of the
    page's texts (``conflict_<reason>``): finished, stopping, running, nothing_to_retry,
    no_output, presenter_in_use, name_taken."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason
