"""The errors of execution, in one place below the executors that raise them.

`BuildError` is what callers of a build catch (it names the failing view and what was kept);
`ViewExecutionError` is how any executor — the Hamilton run, the reference `direct` executor,
process and remote workers — says which view failed, in which file, and why.
"""

from __future__ import annotations


class BuildError(RuntimeError):
    """A build failed. `view` names the failing view (None if no view failed); `kept` lists the
    outputs this run wrote before failing (they stay; the incremental state is not committed)."""

    def __init__(
        self, message: str, *, view: str | None = None, kept: tuple[str, ...] = ()
    ) -> None:
        self.view = view
        self.kept = kept
        super().__init__(message)


class ViewExecutionError(RuntimeError):
    """A view failed at run time; the message names the view and its file."""

    def __init__(self, view: str, path: str | None, error: Exception) -> None:
        self.view = view
        self.where = path or "<code>"
        self.reason = str(error)
        super().__init__(f"view {view!r} ({path or '<code>'}) failed: {error}")
