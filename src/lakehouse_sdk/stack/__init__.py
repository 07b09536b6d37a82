"""The stack itself: services, pinned versions, and the service configuration rendered from one source."""
