"""Renderers: plans (text, markdown, json) and config problems, separate from the engine."""
