"""zdops: a GitOps-style, declarative automation runner for Zendesk Support."""

__version__ = "0.1.0"
