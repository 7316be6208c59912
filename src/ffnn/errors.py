"""The one exception type for a user's mistake.

:class:`FFNNError` carries a message that says what is wrong and how to fix it; the command line
prints it on one line and exits non-zero, without a traceback.
"""

from __future__ import annotations


class FFNNError(ValueError):
    """A user's mistake: bad input, shapes that do not fit, a graph that does not connect."""
