"""Serving: base models + LoRA adapters from the store, answering OpenAI-style completions.

`engine` needs torch; `errors` and `metrics` do not.
"""
