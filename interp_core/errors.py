"""User-facing errors: each carries one sentence that says what is wrong and what was expected.

The CLI prints the sentence and exits with code 2; the app shows it in an error box.
Anything that is not an InterpError is a bug and keeps its traceback.
"""


class InterpError(Exception):
    """Base class of every error a user can cause (bad file, unknown recipe, corrupt artifact)."""


class DataError(InterpError):
    """A dataset or user file that cannot be used."""


class RecipeError(InterpError):
    """An unknown recipe or an invalid combination of options."""


class StoreError(InterpError):
    """An artifact that is missing, incomplete, or fails its checksum."""


class ArtifactMissing(StoreError):
    pass


class ArtifactCorrupted(StoreError):
    pass


class TrainingCancelled(InterpError):
    """Raised inside the fit loop when the caller asked to stop."""


class ReportError(InterpError):
    """A report that cannot be built or written (nothing to report, an unwritable path)."""


class ModelFileError(InterpError):
    """A model file that cannot be used; the sentence says what is wrong and what is expected."""


class BenchError(InterpError):
    """A benchmark that cannot run here (no browser, not a checkout of the repository) or that failed."""


class LayerError(InterpError):
    """A layer name the loaded model does not have, or a layer whose output cannot be used."""


def first_line(exc: BaseException, limit: int = 160) -> str:
    """A library's message cut to its first line, without the exception's type name (for a one-sentence error)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]
