"""A progress bar per file (bytes, speed, time left), or nothing when output is for scripts."""

import sys
import threading

from tqdm import tqdm


class Progress:
    """One file's bar; safe to advance from several transfer threads."""

    def __init__(self, name: str, total: int, *, done: int = 0, enabled: bool = True) -> None:
        self._lock = threading.Lock()
        self._bar = tqdm(
            total=total,
            initial=done,
            desc=name,
            unit="iB",
            unit_scale=True,
            unit_divisor=1024,
            dynamic_ncols=True,
            leave=True,
            file=sys.stderr,
            disable=not enabled,
        )

    def advance(self, count: int) -> None:
        """Count `count` more bytes sent (negative: take back a failed attempt's bytes)."""
        with self._lock:
            self._bar.update(count)

    def note(self, text: str) -> None:
        """Show a short note after the bar (a retry, a check)."""
        with self._lock:
            self._bar.set_postfix_str(text[:60], refresh=True)

    def close(self) -> None:
        """Leave the bar where it is, finished or not."""
        with self._lock:
            self._bar.close()


def bars_wanted(json_output: bool) -> bool:
    """Tell whether to draw bars: only for a person at a terminal."""
    return not json_output and sys.stderr.isatty()
