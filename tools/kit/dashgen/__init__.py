"""Generator of the Grafana dashboards in dashboards/ (see tools/kit/gen_dashboards.py)."""
