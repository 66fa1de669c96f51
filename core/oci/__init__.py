"""OCI and Docker image primitives: media types, platforms, descriptors, canonical bytes."""
