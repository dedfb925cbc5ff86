"""The repair agent: many independent localize-then-edit attempts per SWE-bench instance.

Modules, from the seams inward:

- `config`      AgentConfig (budgets, prices, tool limits): the `agent:` section of a run config
- `actions`     the text action format (```action blocks, <action> tags), parsed tolerantly
- `repo`        RepoSnapshot (read-only tree, shared) and Overlay (an attempt's edits; its `git diff`)
- `snapshots`   where a tree comes from (a directory, a git commit, an image's /testbed), made once
- `bm25`, `index` the instance's index: AST definitions and BM25 over code chunks, built once
- `filecache`, `parse_worker` per-file index entries shared by content across instances; files parsed in child processes
- `prompts`     the prompt templates (configs/agent/prompts, `agent.prompts`) rendered
- `tools`       find_files, find_definition, search_code, view, identify, edit, finish
- `loop`        the agent loop (one attempt); `resume` rebuilds an attempt from its trajectory
- `trajectory`  the JSON-lines trajectory format, appended step by step
- `model`       BackendClient: many attempts' calls batched onto one ModelBackend
- `runner`      many attempts as asyncio tasks; environments shared per instance
- `sampling`    agent attempts as run-store units (the pipeline's sampling step)
- `scripted`, `simulate` zero-latency scripted model (tests, benchmarks); the simulated agent (demo)
- `playback`    a known patch reached through the agent's own views and edits (simulate, the gold tests)
"""
