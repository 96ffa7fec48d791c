"""The HTTP face of the collector: blueprints, the one way in for tokens, login, headers and the WSGI servers."""
