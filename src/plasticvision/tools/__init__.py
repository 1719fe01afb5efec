"""Tools for testing and measuring, not for production: the emulated network link."""
