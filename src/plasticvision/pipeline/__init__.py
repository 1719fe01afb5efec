"""Engine-independent per-frame work: sessions, tracking, and the post-processing steps."""
