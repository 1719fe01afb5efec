"""One router per resource: status, faces, settings, swap."""
