"""The Celery worker's liveness for `npm run local -- status`: what `celery inspect ping` does.

Pings one worker node through the broker and exits 0 when it answers (1 otherwise), printing what it
saw. Imports Celery only (not Airflow), so it is cheap enough to run every 15 s.

Usage: BROKER_URL=redis://... python scripts/local/celery_ping.py NODE
"""

from __future__ import annotations

import os
import sys
import time

from celery import Celery


def main() -> int:
    node = sys.argv[1]
    app = Celery(broker=os.environ["BROKER_URL"])
    began = time.monotonic()
    replies = app.control.ping(destination=[node], timeout=3.0, limit=1)
    answered = any(node in reply for reply in replies)
    took = time.monotonic() - began
    print(f"celery ping: {'pong' if answered else 'no answer'} from {node} in {took:.1f} s")
    return 0 if answered else 1


if __name__ == "__main__":
    sys.exit(main())
