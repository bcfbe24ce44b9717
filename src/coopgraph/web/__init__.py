"""The HTTP layer: an app factory and one router per surface."""
