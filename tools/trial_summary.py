"""Print trial's result as a plain 'trial: N passed, N failed, N skipped' line.

trial ends with e.g. ``PASSED (skips=2, successes=120)`` or
``FAILED (failures=1, errors=2, successes=117)``; CI reads the plain line.
"""

import re
import sys


def summarise(text: str) -> str | None:
    """The plain summary line for a trial log, or None if trial did not finish."""
    matches = re.findall(r"^(PASSED|FAILED) \(([^)]*)\)\s*$", text, re.MULTILINE)
    if not matches:
        return None
    counts = dict(
        (key, int(value))
        for key, value in re.findall(r"(\w+)=(\d+)", matches[-1][1])
    )
    passed = counts.get("successes", 0)
    failed = sum(counts.get(k, 0) for k in ("failures", "errors", "unexpectedSuccesses"))
    skipped = counts.get("skips", 0) + counts.get("expectedFailures", 0)
    return f"trial: {passed} passed, {failed} failed, {skipped} skipped"


def main() -> int:
    """Read the trial log named on the command line and print the summary."""
    with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
        line = summarise(log.read())
    print(line or "trial: did not finish (no summary line)")
    return 0 if line else 1


if __name__ == "__main__":
    sys.exit(main())
