"""The read model the page, the JSON API and the exports share, free of Flask: overview, history, work items."""
