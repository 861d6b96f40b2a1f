#!/usr/bin/env python3
"""Pages through the history API the way a user does: from a page of older incidents, each next
page by its cursor, every walk twice (the second runs on statements the server has cached).
Prints the median and max time per page. docs/benchmarks/server.md, session 6.

    bench/server/deep_walk.py http://127.0.0.1:8080 kind=jam kind=accident vehicle=v42
"""
import json
import statistics
import sys
import time
import urllib.request

START = "to=2026-06-01T00:00:00Z"  # mid-history in bench/server/run.sh's data
PAGES = 100


def get(base, query):
    started = time.perf_counter()
    with urllib.request.urlopen(f"{base}/api/v1/incidents?{query}") as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, json.loads(body)


def walk(base, filters):
    _, page = get(base, f"{filters}&limit=100&{START}")
    times = []
    while page["next_cursor"] and len(times) < PAGES:
        ms, page = get(base, f"{filters}&limit=100&cursor={page['next_cursor']}")
        times.append(ms)
    return times


def main():
    base, *walks = sys.argv[1:]
    for filters in walks:
        for run in ("first", "again"):
            times = walk(base, filters)
            print(f"{filters} ({run}): {len(times)} pages, median {statistics.median(times):.2f} ms, "
                  f"max {max(times):.2f} ms")


if __name__ == "__main__":
    main()
