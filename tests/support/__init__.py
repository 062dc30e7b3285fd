"""Helpers shared by tests: deterministic toy tasks the base model cannot do before fine-tuning."""
