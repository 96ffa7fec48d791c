"""The cloud move of each unit's applications to the HDC: the shared read, declarations, sheets, the observer."""
