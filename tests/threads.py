"""Real concurrency in tests: callables started at the same moment, one thread each."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def race(jobs):
    """Run the callables at the same moment, one thread (and database connection) each;
    return their results in order."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=30)
            return job()
        finally:
            connection.close()  # each thread opened its own connection; leave none open

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs, timeout=120))
