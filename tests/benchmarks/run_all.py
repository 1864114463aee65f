"""Every performance figure, one table after another. Run: .venv/bin/python -m tests.benchmarks.run_all
(about 4 minutes on 2 cores; each benchmark also runs alone: python -m tests.benchmarks.<name>)."""

from __future__ import annotations

import datetime
import os
import platform

from tests.benchmarks import checks_concurrency, memory, startup, storage_checks, traffic


def main() -> None:
    print(f"{datetime.date.today()} · {platform.python_implementation()} {platform.python_version()} · "
          f"{os.cpu_count()} cores · {platform.machine()}")
    for module in (startup, traffic, checks_concurrency, storage_checks, memory):
        print()
        print(module.table(module.measure()))


if __name__ == "__main__":
    main()
