"""`import lakehouse_sdk; Lakehouse()` against `import pydantic_settings`, median of fresh processes.

Run: python -m benchmarks.bench_import [--runs 30]
Goal (issue 2): at most 1.5 times the baseline.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks._common import summary, write

CASES = {
    "baseline: import pydantic_settings": "import pydantic_settings",
    "import lakehouse_sdk; Lakehouse()": "import lakehouse_sdk; lakehouse_sdk.Lakehouse()",
}


def _time(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for code in CASES.values():  # warm the file cache
        _time(code)
    for _ in range(args.runs):  # interleave, so drift hits both alike
        for name, code in CASES.items():
            samples[name].append(_time(code))
    stats = {name: summary(values) for name, values in samples.items()}
    names = list(CASES)
    ratio = stats[names[1]]["median"] / stats[names[0]]["median"]
    write("import", {"seconds": stats, "ratio_to_baseline": ratio, "goal_max_ratio": 1.5, "meets_goal": ratio <= 1.5})


if __name__ == "__main__":
    main()
