"""The process's side threads: native work (OpenCV's flow, SciPy's tree queries) split over two threads.

That code releases the GIL, so two calls run at once; on the 2-core machines measured, two DIS flows side
by side take about 0.75 of the time of one after the other. The pool is made when first needed and
shared by every stage of the process; a task holds references to its own arrays, so an interrupted caller
(Ctrl-C raised while it waits) cannot free what a side thread still reads.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools

SIDE_THREADS = 2  # more gain little: OpenCV parallelises inside its calls too


@functools.cache
def side_threads() -> cf.ThreadPoolExecutor:
    return cf.ThreadPoolExecutor(SIDE_THREADS, thread_name_prefix="vidcolor-side")
