"""The hdc-readiness domain: report schema, ward registry, baseline rules and
their evaluation, milestones and the software catalog.

Nothing here touches the web or a database, so the agent, the collector and
the converters share one definition of what a report and a verdict are.
"""
