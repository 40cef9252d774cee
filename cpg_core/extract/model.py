"""Plain, picklable records passed between scan, extraction workers and merge.

They cross process boundaries (spawn pools, later Hamilton ``Parallelizable`` tasks), so they hold only
strings, ints and tuples; no open files, no paths bound to one machine beyond ``root``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
DEFAULT_UNIT_BYTES = 256 * 1024
DEFAULT_UNIT_MAX_FILES = 400


@dataclass(frozen=True)
class ExtractOptions:
    """Knobs that change extraction output; part of any cache key for per-file evidence."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    # Also run CPython's bytecode compiler on the parsed AST so compile-only errors ('return' outside
    # function, misplaced __future__ imports, ...) get an extract_errors row. Evidence is kept.
    check_compile: bool = False


@dataclass(frozen=True)
class FileInfo:
    """One Python file found by the scan. ``path`` is relative to the scan root, POSIX separators."""

    path: str
    module: str
    is_package: bool
    source_root: str
    size: int | None
    # Relative path as the OS spells it (differs from ``path`` only for undecodable file names).
    fs_path: str = ""

    @property
    def os_path(self) -> str:
        """Relative path to open on disk."""
        return self.fs_path or self.path


@dataclass(frozen=True)
class ScanUnit:
    """A deterministic, size-balanced batch of files: the unit of parallel extraction."""

    index: int
    root: str
    files: tuple[FileInfo, ...]
    total_bytes: int
    options: ExtractOptions = field(default_factory=ExtractOptions)

    @property
    def unit_id(self) -> str:
        """Human-readable, stable name of the unit."""
        return f"unit-{self.index:05d}"


@dataclass(frozen=True)
class ScanProblem:
    """A directory the scan could not list (its files are unknown): an ``extract_errors`` row.

    ``path`` is the directory relative to the scan root with a trailing ``/`` (``./`` for the root
    itself), so it never equals a file's path.
    """

    path: str
    error_type: str
    message: str


@dataclass(frozen=True)
class ScanResult:
    """Everything the scan found: files in path order and the units that cover them exactly once."""

    root: str
    mode: str  # "git" or "walk"
    files: tuple[FileInfo, ...]
    units: tuple[ScanUnit, ...]
    problems: tuple[ScanProblem, ...] = ()


@dataclass(frozen=True)
class ScanOptions:
    """The knobs of `scan_repo`, as one hashable input (None = the extractor's default)."""

    max_file_bytes: int | None = None
    check_compile: bool | None = None
    unit_bytes: int = DEFAULT_UNIT_BYTES
    unit_max_files: int = DEFAULT_UNIT_MAX_FILES
    use_git: bool = True

    def extract_options(self) -> ExtractOptions:
        """The per-file options these scan options give (the same rule as `scan_repo`)."""
        defaults = ExtractOptions()
        return ExtractOptions(
            max_file_bytes=(
                defaults.max_file_bytes if self.max_file_bytes is None else self.max_file_bytes
            ),
            check_compile=defaults.check_compile
            if self.check_compile is None
            else self.check_compile,
        )
