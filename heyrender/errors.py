"""Every error heyrender reports to a user.

    HeyrenderError                 base; the CLI turns it into "Error: ..." and its exit_code
    ├── InputError                 a file the user wrote is wrong (manifest, CSV, lockfile)
    │   ├── ManifestError          names the manifest, line, column and field
    │   ├── CsvError               names the CSV and line
    │   └── LockfileError          names the lockfile and line
    ├── ConfigError                missing API key, unusable option values
    ├── StateLockHeld              another apply holds the manifest's state lock
    ├── OverBudget                 the estimate is above --max-cost or the account's balance
    ├── StalePlan                  a saved plan's manifest, CSV or lockfile changed since
    └── ApiError                   one class per way a HeyGen call can fail
        ├── InvalidRequest         400: this row's fault, permanent
        ├── AuthError              401/403: stop everything
        ├── NoCredit               402 or a credit failure: stop submitting
        ├── RateLimited            429: wait for Retry-After
        ├── TransientError         5xx, timeouts, dropped connections on reads: retry
        ├── VideoGone              HeyGen no longer knows a recorded video (deleted): not_found
        └── OutcomeUnknown         a create that may or may not have happened: never resend blindly

This module does not import click; the CLI converts these in one place.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
C1 = re.compile(r"[\x7f-\x9f]")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def where(path: str | Path | None, line: int | None = None, column: int | None = None) -> str:
    """'m.yaml line 4, column 3' from whatever parts are known."""
    parts = [Path(path).name if path else ""]
    if line is not None:
        parts.append(f"line {line}" + (f", column {column}" if column is not None else ""))
    return " ".join(p for p in parts if p)


def escaped(text: str) -> str:
    """text with each control character written as an escape (\\n, \\x1b): a message quoting
    a cell stays one line, and cannot move the cursor or colour a terminal."""
    if not CONTROL.search(text):
        return text
    return CONTROL.sub(lambda m: NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten(text: str, limit: int = 40) -> str:
    """text, control characters escaped, cut to at most `limit` characters, with an ellipsis
    where it was cut."""
    return cut(escaped(text), limit)


def excerpt(text: str, limit: int = 40) -> str:
    """A short, quoted piece of file content for a message: never the whole of a cell or file,
    and every control character escaped (JSON escapes C0; C1 and DEL are escaped here)."""
    quoted = json.dumps(cut(text, limit), ensure_ascii=False)
    return C1.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


class HeyrenderError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class InputError(HeyrenderError):
    pass


class ManifestError(InputError):
    def __init__(
        self,
        path: str | Path,
        detail: str,
        *,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path, self.line, self.column, self.field = Path(path), line, column, field
        prefix = where(path, line, column)
        body = f"{field}: {detail}" if field else detail
        super().__init__(f"{prefix}: {body}", hint)


class CsvError(InputError):
    def __init__(self, path: str | Path, detail: str, *, line: int | None = None) -> None:
        self.path, self.line = Path(path), line
        super().__init__(f"{where(path, line)}: {detail}")


class LockfileError(InputError):
    def __init__(
        self, path: str | Path, detail: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        self.path, self.line = Path(path), line
        super().__init__(
            f"{where(path, line)}: {detail}",
            hint=hint or "fix it by hand or restore it from git; heyrender never resets a lockfile",
        )


class ConfigError(HeyrenderError):
    exit_code = 2


class StateLockHeld(HeyrenderError):
    pass


class OverBudget(HeyrenderError):
    pass


class StalePlan(HeyrenderError):
    def __init__(self, plan_path: str | Path, changed: list[str], hint: str | None = None) -> None:
        self.path, self.changed = Path(plan_path), changed
        super().__init__(
            f"stale plan: {self.path.name} was made from a different {' and '.join(changed)}; "
            "nothing was submitted",
            hint,
        )


class ApiError(HeyrenderError):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status, self.code = status, code
        super().__init__(message)


class InvalidRequest(ApiError):
    pass


class AuthError(ApiError):
    pass


class NoCredit(ApiError):
    pass


class RateLimited(ApiError):
    def __init__(self, message: str, *, retry_after: float, status: int = 429) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, code="rate_limit_exceeded")


class TransientError(ApiError):
    pass


class OutcomeUnknown(ApiError):
    pass


class VideoGone(ApiError):
    """HeyGen answers not_found for a video it made: deleted; asking again will not help."""


class ExpiredUrl(TransientError):
    """A download URL answered 403/404: fetch the status again for a fresh one."""


def os_error_sentence(exc: OSError) -> str:
    """'cannot write out/a.mp4: No space left on device', without errno or a traceback."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    paths = " and ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    return f"{paths}: {reason}"
