"""Record the parts of vLLM's API that monkeys' vLLM backend relies on, from a real vllm install.

    python scripts/record_vllm_api.py [--out tests/harness/models/vllm_api.json] [--check]

Run it with a Python that has vllm installed (no GPU is needed to import it, nor for what this
script exercises); the test venv never has vllm. The record holds:

- `SamplingParams`: its fields with their defaults, and what its constructor does with the
  arguments the backend sends (greedy sampling with n > 1, the dropped `best_of`, the renamed
  guided decoding);
- the parameters of `LLM.__init__` (and the engine arguments its **kwargs reach),
  `LLM.generate` and `LLM.chat`, and the fields of `RequestOutput` and `CompletionOutput`;
- V1's fan-out of a request with n > 1: the seeds vLLM's own `ParentRequest` gives each child
  (the real code is run here: child i of a request with seed s gets s + i).

tests/harness/models/test_vllm_api_record.py checks the stand-in module (fake_vllm.py) and the
backend against this file. `--check` compares a fresh record with the saved one instead of
writing it, and exits 1 when they differ (run it after upgrading vLLM).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "harness" / "models" / "vllm_api.json"


def _value(value: Any) -> Any:
    """A default as JSON: plain values as they are, anything else by its repr."""
    if value is inspect.Parameter.empty:
        return "<required>"
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return repr(value)


def _parameters(function: Any) -> list[dict[str, Any]]:
    return [{"name": p.name, "kind": p.kind.name, "default": _value(p.default)}
            for p in inspect.signature(function).parameters.values() if p.name != "self"]


def _construct(sampling_params: type, **kwargs: Any) -> dict[str, Any]:
    """What SamplingParams(**kwargs) does: the fields it keeps, or the error it raises."""
    try:
        made = sampling_params(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the error is what we record
        return {"raises": type(exc).__name__, "raises_mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}
    return {"fields": {key: _value(getattr(made, key)) for key in kwargs}}


def _child_seeds(parent_request: type, sampling_params: type, seed: int | None, n: int) -> list[Any]:
    """The seed of each child V1's engine makes of one request with n samples (vLLM's own code)."""
    params = sampling_params(n=n, seed=seed, temperature=0.8)
    request = SimpleNamespace(request_id="r", external_req_id="r", params=params, sampling_params=params)
    parent = parent_request(request)
    return [parent.get_child_info(index)[1].seed for index in range(n)]


def record() -> dict[str, Any]:
    import vllm
    from vllm import LLM, SamplingParams
    from vllm.engine.arg_utils import EngineArgs
    from vllm.outputs import CompletionOutput, RequestOutput
    from vllm.v1.engine.parallel_sampling import ParentRequest

    defaults = dict(zip(SamplingParams.__struct_fields__[-len(SamplingParams.__struct_defaults__):],
                        SamplingParams.__struct_defaults__, strict=True))
    fields = {name: _value(defaults.get(name, inspect.Parameter.empty))
              for name in SamplingParams.__struct_fields__ if not name.startswith("_")}
    return {
        "vllm_version": vllm.__version__,
        "sampling_params": {
            "fields": fields,
            "greedy_n2": _construct(SamplingParams, n=2, temperature=0.0),
            "greedy_n1": _construct(SamplingParams, n=1, temperature=0.0, top_p=0.5),
            "best_of": _construct(SamplingParams, n=1, best_of=2),
            "guided_decoding": _construct(SamplingParams, guided_decoding=None),
            "stop_as_list": _construct(SamplingParams, stop=["\n\n"]),
        },
        "llm_init": _parameters(LLM.__init__),
        "engine_args": sorted(f.name for f in dataclasses.fields(EngineArgs)),  # what LLM(**kwargs) passes on
        "llm_generate": _parameters(LLM.generate),
        "llm_chat": _parameters(LLM.chat),
        "request_output": _parameters(RequestOutput.__init__),
        "completion_output": [f.name for f in dataclasses.fields(CompletionOutput)],
        "v1_fan_out": {
            "seed_100_n4": _child_seeds(ParentRequest, SamplingParams, 100, 4),
            "seed_7_n3": _child_seeds(ParentRequest, SamplingParams, 7, 3),
            "seed_none_n2": _child_seeds(ParentRequest, SamplingParams, None, 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare with the saved record; exit 1 if it differs")
    args = parser.parse_args(argv)
    try:
        fresh = record()
    except ImportError as exc:
        print(f"needs a Python with vllm installed ({exc})", file=sys.stderr)
        return 2
    text = json.dumps(fresh, indent=1, sort_keys=True) + "\n"
    if args.check:
        saved = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if saved != text:
            print(f"{args.out} differs from vllm {fresh['vllm_version']}: re-record it and check the backend", file=sys.stderr)
            return 1
        print(f"{args.out} matches vllm {fresh['vllm_version']}")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} (vllm {fresh['vllm_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
