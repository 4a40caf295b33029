"""Timing shared by the benchmarks."""
import time


def best_of_alternating(n, *fns):
    """Best time of each function over n rounds, one run of each per round, after a warm-up round."""
    times = [[] for _ in fns]
    for round_ in range(n + 1):
        for fn, ts in zip(fns, times):
            start = time.perf_counter()
            fn()
            if round_ > 0:
                ts.append(time.perf_counter() - start)
    return [min(ts) for ts in times]
