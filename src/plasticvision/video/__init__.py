"""Video I/O: opening untrusted containers safely (`formats`); codec reading and writing join it in the layout step."""
