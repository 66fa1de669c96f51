"""HTTP: one client factory (TLS, CA, proxies, timeouts) shared by registry, Harbor and chart repositories."""
