"""Runs every benchmark module in bench/ (those defining `run(spark) -> list[dict]`) and prints one table.

Each row: the benchmark, the case, Irbis's throughput, the named baseline's throughput measured in the
same run on the same machine, their ratio, and the ratio aimed at when the benchmark sets one (`target`).
Usage: `make bench` or `python bench/run.py [name ...]`.
"""
import importlib
import os
import sys
from pathlib import Path

import irbis

HERE = Path(__file__).resolve().parent


def main(names):
    # Python workers (predict_batch_udf baselines) must use this venv's interpreter, activated or not.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    sys.path.insert(0, str(HERE))
    modules = names or sorted(p.stem for p in HERE.glob("bench_*.py"))
    spark = irbis.session(app_name="irbis-bench", master="local[2]",
                          **{"spark.driver.memory": "8g", "spark.ui.enabled": "false"})
    rows = []
    for name in modules:
        rows.extend(importlib.import_module(name if name.startswith("bench_") else f"bench_{name}").run(spark))
    spark.stop()
    header = f"{'benchmark':<22} {'case':<28} {'irbis':>14} {'baseline':>14} {'baseline name':<28} {'ratio':>6}  target"
    print(header)
    print("-" * len(header))
    for r in rows:
        # a baseline that answered nothing in its run (FastAPI at 16 clients on a loaded machine) has no ratio
        ratio = r['irbis'] / r['baseline'] if r['baseline'] else float("inf")
        print(f"{r['benchmark']:<22} {r['case']:<28} {r['irbis']:>10.0f} {r['unit']:<3} {r['baseline']:>10.0f} "
              f"{r['unit']:<3} {r['baseline_name']:<28} {ratio:>5.2f}x"
              + (f"  >= {r['target']:.2f}x{'' if ratio >= r['target'] else ' (missed)'}" if 'target' in r else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
