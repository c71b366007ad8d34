"""How an apply ended, as one value; the exit code is derived from it and nothing else.

0    DONE         every row of the campaign is done (with --no-wait: submitted, rendering)
1    FAILED       rows failed, went missing, are uncertain or invalid, or an API failure
                  (auth, credit, unreachable) stopped the run with rows still to create
3    UNFINISHED   --timeout came with videos rendering or rows still to create: run again
4    HELD_BACK    nothing failed, but rows were left as asked: --limit, --max-cost reached,
                  outdated rows without --replace-outdated, uncertain rows without
                  --resubmit-uncertain
130  INTERRUPTED  Ctrl-C or SIGTERM: the lockfile holds everything in flight
"""

from __future__ import annotations

from enum import Enum


class Outcome(Enum):
    DONE = 0
    FAILED = 1
    UNFINISHED = 3
    HELD_BACK = 4
    INTERRUPTED = 130

    @property
    def exit_code(self) -> int:
        return int(self.value)
