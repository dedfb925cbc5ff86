"""Instance images of a SWE-bench dataset: build (task repo Dockerfiles), pull (a registry), check (present, disk, working).

`monkeys images build|pull|check`: targets.py (what a dataset needs, records, the summary table),
build.py, pull.py, check.py. One image's failure is recorded and never stops the others.
"""
