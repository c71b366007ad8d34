"""The faults the emulator can inject (no imports, so the CLI can offer them cheaply)."""

from __future__ import annotations

READ_FAULTS = ("500", "502", "503", "slow", "drop")
CREATE_FAULTS = (*READ_FAULTS, "created-then-drop", "created-then-502")
