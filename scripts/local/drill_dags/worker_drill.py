"""Test-only DAG of the worker drills (scripts/local/drills.sh); never deployed (not in dags/).

One task, ``hold``, on the drill workers' own queue ``drills``: it runs for ``conf["seconds"]``
seconds (default 30), long enough to stop or kill its worker while it runs. It sets no retries of
its own, so a drill sees the platform's defaults (``[core] default_task_retries`` and
``default_task_retry_delay``) at work.
"""

from __future__ import annotations

import time
from datetime import datetime

from airflow.sdk import DAG, get_current_context, task

with DAG(
    dag_id="worker_drill",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    is_paused_upon_creation=False,
    tags=["drill", "test-only"],
):

    @task(queue="drills")
    def hold() -> int:
        context = get_current_context()
        seconds = int((context["dag_run"].conf or {}).get("seconds", 30))
        time.sleep(seconds)
        return seconds

    hold()
