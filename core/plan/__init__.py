"""What an import means to do (image and chart plans) and what a run made of it (results)."""
