"""OpenAI-compatible inference: wire models (torch-free; the API imports them to forward requests)."""
