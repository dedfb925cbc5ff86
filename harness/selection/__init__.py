"""One patch per instance, chosen without the hidden tests (issue 13).

`records` (what selectors may see: no hidden field), `normalize` (vote keys), `selectors`
(filters, then a vote or a choice, named in a config), `containers` (tests x candidates in warm
containers), `regression`, `reproduction`, `choice` (model-backed steps), `pools` (reading
candidates; writing predictions.jsonl).
"""
