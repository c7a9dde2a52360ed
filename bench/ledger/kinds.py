"""Names of transaction outcomes: ``"ok"`` or ``"<step>:<code>"``, the same for both clients.

The Go load generator (``loadgen/workload.go``, ``failureKind``) uses the same names.
"""

from __future__ import annotations

from client.gateway import CommitError, CommitStatusError, EndorseError, SubmitError

__all__ = ["failure_kind"]

# Error type of each submit step -> the step's name in a kind.
STEP_NAMES: tuple[tuple[type[Exception], str], ...] = (
    (EndorseError, "endorse"),
    (SubmitError, "submit"),
    (CommitStatusError, "commit_status"),
)


def failure_kind(error: BaseException) -> str:
    """Return the kind of a failed transaction, e.g. ``"endorse:DEADLINE_EXCEEDED"``.

    Step errors carry the gRPC code; :class:`CommitError` the validation code
    (``"commit:MVCC_READ_CONFLICT"``); anything else is ``"other:<type>"``.
    """
    if isinstance(error, CommitError):
        return f"commit:{error.code}"
    for error_type, step in STEP_NAMES:
        if isinstance(error, error_type):
            code = error.grpc_code.name if error.grpc_code is not None else "UNKNOWN"
            return f"{step}:{code}"
    return f"other:{type(error).__name__}"
