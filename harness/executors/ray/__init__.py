"""The Ray executor: model replicas and verification on a Ray cluster, results back to the driver.

- `cluster`: joining or starting Ray, and the resources of its live nodes.
- `workers`: what a Ray worker process keeps between tasks (the last backend and verifier sent).
- `sampling`: `RayBackend`, a `ModelBackend` over replicas, and `ModelReplicas`, which starts them.
  Backends with state worth keeping in one place (a vLLM engine on its GPUs, an HTTP client's
  connection pool) are Ray actors, restarted when they die with their calls run again
  (`max_restarts`, `max_task_retries`). Stateless ones (the simulated model) run chunks as Ray
  tasks with `max_retries`, each worker process keeping the backend it built. A chunk that still
  fails comes back as model errors, as any backend's failed requests do (`--retry-errors`).
- `verification`: candidates go out in chunks (one SWE-bench instance per task: one warm
  container, one flake check) as Ray tasks with `max_retries`, on nodes with the resources the
  verifier's `ray_placement` names (Docker). Verdicts stream back with `ray.wait`.
- `executor`: `RayExecutor`, the `Executor` the pipeline sees.

The driver alone writes the run store, and every write is keyed: attempts by (problem, index),
verdicts by (problem, candidate, verifier, version). A result is stored when it reaches the
driver, so a task that ran twice (its worker died after finishing) is still stored once.
ray is an optional extra, imported only when this executor is chosen.
"""
