"""The model registry: what weights exist (`catalog`) and where they are, verified (`store`)."""
