"""archfuse engine: headless, never imports textual or rich."""

__version__ = "0.1.0"
