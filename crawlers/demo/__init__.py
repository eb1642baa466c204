"""The demo web (the story of docs/demo-story.md on 127.0.0.1) and its settings."""

from crawlers.demo.config import demo_settings
from crawlers.demo.server import DemoWeb

__all__ = ["DemoWeb", "demo_settings"]
