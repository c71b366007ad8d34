"""A video's status, as one typed value shared by the lockfile, the API adapters, plan and
progress. HeyGen's own statuses plus the ones heyrender records around a create."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    # heyrender's own, around a create
    SUBMITTING = "submitting"  # intent recorded before the POST; outcome not yet known
    UNCERTAIN = "uncertain"  # a lost create that could not be settled
    NOT_CREATED = "not_created"  # a create that certainly did not land
    MISSING = "missing"  # a recorded video HeyGen no longer knows (deleted, or 404)
    # HeyGen's
    WAITING = "waiting"
    QUEUED = "queued"
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_api(cls, text: str | None) -> Status:
        """HeyGen's word for a status; any unknown one means the video is still in progress."""
        try:
            status = cls((text or "").strip().lower())
        except ValueError:
            return cls.PROCESSING
        return status if status in REMOTE else cls.PROCESSING

    @property
    def finished(self) -> bool:
        return self in FINISHED

    @property
    def unsettled(self) -> bool:
        return self in UNSETTLED


REMOTE = frozenset(
    {
        Status.WAITING,
        Status.QUEUED,
        Status.PENDING,
        Status.PROCESSING,
        Status.COMPLETED,
        Status.FAILED,
    }
)
TERMINAL = frozenset({Status.COMPLETED, Status.FAILED})
FINISHED = frozenset({Status.COMPLETED, Status.FAILED, Status.NOT_CREATED, Status.MISSING})
UNSETTLED = frozenset({Status.SUBMITTING, Status.UNCERTAIN})
# A row in these statuses names its video: HeyGen gave it (or lost it, for missing). A failed
# row may have none (a create HeyGen rejected), nor has a row around a create.
WITH_VIDEO = (REMOTE - {Status.FAILED}) | {Status.MISSING}
RETRYABLE = frozenset({Status.FAILED, Status.NOT_CREATED, Status.MISSING})
