"""Provenance: Content Credentials (C2PA) on output files and an invisible watermark in output frames."""
