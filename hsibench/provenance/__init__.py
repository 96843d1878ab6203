"""Provenance: which code and which machine made a number (stored in every record and cached pretraining).

Imports neither torch nor any method, so the report layer and ``results ls`` can check records fast.
"""

from hsibench.provenance.code import CodeFingerprint, code_fingerprint, git_state

__all__ = ["CodeFingerprint", "code_fingerprint", "git_state"]
