"""Where images and charts go: a registry, or an OCI image layout directory."""
