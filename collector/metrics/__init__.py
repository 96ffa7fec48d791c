"""Prometheus: the store collector read at scrape time, the exposition writer and the cloud-migration families."""
