"""The report layer's error: records that cannot make the asked-for table or figure."""

from hsibench.errors import HsibenchError


class ReportError(HsibenchError, ValueError):
    """Records that cannot make the asked-for table or figure; the message says what to run or change."""
