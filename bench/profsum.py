"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): where the time goes.

python -m bench.profsum bench/results/profiles/FILE.txt [--top 25] [--thread MainThread]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def short(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m.group('func')} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread", help="only stacks whose first frame mentions this")
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    idle = 0
    with open(args.path) as f:
        for line in f:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not count_text.isdigit():
                continue
            frames = stack.split(";")
            if args.thread and args.thread not in frames[0]:
                continue
            count = int(count_text)
            total += count
            if any(x in frames[-1] for x in ("Condition.wait", "select (selectors", "_worker (concurrent")):
                idle += count
                continue
            own[short(frames[-1])] += count
            for name in {short(fr) for fr in frames[1:]}:
                inclusive[name] += count
    busy = total - idle
    print(f"samples {total}, waiting {idle}, busy {busy}")
    print("\n-- self (leaf) time, % of busy samples")
    for name, n in own.most_common(args.top):
        print(f"{100 * n / max(busy, 1):6.1f}%  {name}")
    print("\n-- inclusive time, % of busy samples")
    for name, n in inclusive.most_common(args.top * 2):
        print(f"{100 * n / max(busy, 1):6.1f}%  {name}")


if __name__ == "__main__":
    main()
