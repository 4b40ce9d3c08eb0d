"""Python's start-up hook for the Airflow processes of ``npm run local`` (a local difference, on their
``PYTHONPATH``: scripts/local/units.ts, LOCAL_DIFFERENCES; not in the image, not on AWS).

Airflow's start is mostly imports and building its API's models, which allocate millions of objects
and few cycles. With CPython's default thresholds (700, 10, 10) the cyclic garbage collector ran
1,361 times while the api-server built its app (9 of them over the whole heap); with these, 18 (none
over the whole heap). That is CPU a machine whose 2 cores start what Fargate starts on six tasks of
their own does not have to spare. Garbage is still collected, only later.
"""

import gc

gc.set_threshold(50_000, 20, 20)
