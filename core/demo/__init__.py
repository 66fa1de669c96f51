"""The embedded default: sample packages (a generator) and the demo set-up."""
