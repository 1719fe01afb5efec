"""Model back-ends and how one is chosen (`load_engine`)."""
