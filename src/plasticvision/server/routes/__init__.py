"""One router per resource: status, faces, identities, settings, swap, video, metrics and the live stream."""
