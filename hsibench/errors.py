"""The one base of every error hsibench raises for bad *input* (a file, a name, a key, a value).

The CLI shows a :class:`HsibenchError` as one line that says what is wrong and how to fix it;
any other exception is a bug and keeps its traceback. Each layer derives its own errors from it
(and, where callers expect it, from the matching built-in type: ``KeyError``, ``ValueError``).
"""


class HsibenchError(Exception):
    """Bad input, explained: the message names the file, key or value and what would be valid."""
