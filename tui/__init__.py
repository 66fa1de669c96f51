"""archfuse's terminal UI and command line. Headless commands never import textual."""
